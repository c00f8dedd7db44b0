import { applyDecorators, type Type } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  type ApiOperationOptions,
} from '@nestjs/swagger';

/**
 * OpenAPI: what a route does (summary, description) and the view its 200 answer carries. Its
 * refusals are documented next to it with @ApiProblems.
 */
export const ApiOk = (type: Type<unknown>, operation: ApiOperationOptions): MethodDecorator =>
  applyDecorators(ApiOperation(operation), ApiOkResponse({ type }));

/** OpenAPI: the same for a route that creates: it answers 201 with the view. */
export const ApiCreated = (type: Type<unknown>, operation: ApiOperationOptions): MethodDecorator =>
  applyDecorators(ApiOperation(operation), ApiCreatedResponse({ type }));
