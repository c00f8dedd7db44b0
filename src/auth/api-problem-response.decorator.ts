import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
// Not re-exported by the package index; the metadata key is what ApiResponse itself writes.
import { DECORATORS } from '@nestjs/swagger/dist/constants';
import { ProblemView } from '../common/http/api-problems.decorator';
import { PROBLEM_CONTENT_TYPE } from '../common/http/problem';

interface ProblemContent {
  schema?: { allOf?: Array<{ properties?: { code?: { enum?: unknown } } }> };
}

interface ResponseEntry {
  content?: Record<string, ProblemContent | undefined>;
}

/**
 * Documents one problem+json code for a status, in the shape ApiProblems uses. Unlike a plain
 * ApiResponse, it keeps the codes already documented for that status (say SKU_TAKEN next to
 * IDEMPOTENCY_IN_PROGRESS under 409) instead of replacing their schema. Decorators apply
 * bottom-up, so this must sit above the route's own @ApiProblems to see its codes.
 */
export function ApiProblemResponse(
  status: number,
  code: string,
  detail: string,
): MethodDecorator & ClassDecorator {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    // Method metadata lives on the function itself, class metadata on the class.
    const holder = (descriptor?.value ?? target) as object;
    const documented = Reflect.getMetadata(DECORATORS.API_RESPONSE, holder) as
      Record<string, ResponseEntry | undefined> | undefined;
    const codes = [...new Set([...codesOf(documented?.[status]), code])];
    const decorators = [
      ApiExtraModels(ProblemView),
      ApiResponse({
        status,
        description: `${code}: ${detail}`,
        content: {
          [PROBLEM_CONTENT_TYPE]: {
            schema: {
              allOf: [
                { $ref: getSchemaPath(ProblemView) },
                { properties: { code: { type: 'string', enum: codes } } },
              ],
            },
          },
        },
      }),
    ];
    for (const decorate of decorators) {
      if (descriptor && key !== undefined) decorate(target, key, descriptor);
      else (decorate as ClassDecorator)(target as new (...args: never[]) => unknown);
    }
  };
}

function codesOf(entry: ResponseEntry | undefined): string[] {
  const codes = entry?.content?.[PROBLEM_CONTENT_TYPE]?.schema?.allOf?.[1]?.properties?.code?.enum;
  return Array.isArray(codes) ? codes.filter((c): c is string => typeof c === 'string') : [];
}
