import { Controller, Post } from '@nestjs/common';
import { DECORATORS } from '@nestjs/swagger/dist/constants';
import { AdminOnly, ApiKeyAuth } from '../auth/auth.decorators';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { Idempotent } from './idempotency.decorators';

@ApiKeyAuth()
@Controller('things')
class ThingsController {
  @Post()
  @AdminOnly()
  @Idempotent()
  @ApiProblems({ 409: ['THING_TAKEN'] })
  create(): void {}

  @Post('plain')
  @Idempotent()
  plain(): void {}
}

interface Entry {
  description: string;
  content: Record<
    string,
    { schema: { allOf: [unknown, { properties: { code: { enum: string[] } } }] } }
  >;
}

const responsesOf = (target: object): Record<string, Entry> =>
  Reflect.getMetadata(DECORATORS.API_RESPONSE, target) as Record<string, Entry>;
const codes = (entry: Entry | undefined): string[] | undefined =>
  entry?.content['application/problem+json']?.schema.allOf[1].properties.code.enum;

describe('OpenAPI decorators', () => {
  it('@Idempotent adds its codes next to the route’s own, per status', () => {
    const responses = responsesOf(ThingsController.prototype.create);
    expect(codes(responses['409'])).toEqual(['THING_TAKEN', 'IDEMPOTENCY_IN_PROGRESS']);
    expect(responses['409']?.description).toContain('THING_TAKEN');
    expect(responses['409']?.description).toContain('IDEMPOTENCY_IN_PROGRESS');
    expect(codes(responses['422'])).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(codes(responses['400'])).toEqual(['INVALID_IDEMPOTENCY_KEY']);
    expect(codes(responses['403'])).toEqual(['FORBIDDEN']);
  });

  it('@Idempotent documents the optional Idempotency-Key header', () => {
    const headers = Reflect.getMetadata(
      DECORATORS.API_PARAMETERS,
      ThingsController.prototype.plain,
    ) as Array<{ name: string; in: string; required: boolean }>;
    expect(headers).toEqual([
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
    ]);
    expect(Object.keys(responsesOf(ThingsController.prototype.plain)).sort()).toEqual([
      '400',
      '409',
      '422',
    ]);
  });

  it('@ApiKeyAuth marks the class with the api-key scheme and a 401', () => {
    expect(Reflect.getMetadata(DECORATORS.API_SECURITY, ThingsController)).toEqual([
      { 'api-key': [] },
    ]);
    expect(codes(responsesOf(ThingsController)['401'])).toEqual(['UNAUTHENTICATED']);
  });
});
