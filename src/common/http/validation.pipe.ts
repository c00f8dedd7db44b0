import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { RequestValidationError } from '../errors/domain-error';

/**
 * Rejects unknown fields and wrong types instead of silently coercing or dropping them:
 * a storefront bug should surface as a 400 with the field named, not as a surprise later.
 */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new RequestValidationError(flatten(errors)),
  });
}

function flatten(
  errors: ValidationError[],
  parent = '',
): Array<{ field: string; messages: string[] }> {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * class-transformer never copies keys named like Object.prototype's members (`constructor`,
 * `toString`, ...), so the whitelist never sees them and `?constructor=1` would pass as if it
 * were not there. They are refused here like any other unknown field.
 */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom' && value !== null && typeof value === 'object') {
      const shadowing = Object.keys(value).filter((key) => key in Object.prototype);
      if (shadowing.length > 0) {
        throw new RequestValidationError(
          shadowing.map((field) => ({ field, messages: [`property ${field} should not exist`] })),
        );
      }
    }
    return super.transform(value, metadata);
  }
}
