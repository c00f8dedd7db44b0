import { Body, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminOnly, ApiController } from '../auth';
import { API_KEY_HEADER } from '../auth/api-key-verifier';
import { ApiCreated } from '../common/http/api-answer.decorator';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { REDEEM_REFUSALS } from '../coupons/coupons.errors';
import { CouponsService } from '../coupons/coupons.service';
import { RedemptionView } from '../coupons/dto/coupon-views.dto';
import { CouponCodeParams, RedeemCouponDto } from '../coupons/dto/coupon-requests.dto';
import { DemoStormsService } from './demo-storms.service';
import { DemoRedeemQuery, StartStormDto } from './dto/demo.dto';

const TEACHING =
  'TEACHING AID for the /demo page: mounted only with the naive routes (NAIVE_ROUTES_ENABLED=true, ' +
  'never in production).';

@ApiController('demo (teaching aid)', 'v1/demo')
export class DemoController {
  constructor(
    private readonly storms: DemoStormsService,
    private readonly coupons: CouponsService,
  ) {}

  @Get('scenarios')
  @AdminOnly()
  @ApiOperation({
    summary: 'Scenarios and strategies the storm page offers',
    description: TEACHING,
  })
  @ApiOkResponse({ description: '{scenarios: [{name, title, unit, strategies}], instances}' })
  @ApiProblems(['DEMO_UNAVAILABLE'])
  async scenarios(): Promise<{ scenarios: unknown; instances: string[] }> {
    return {
      scenarios: JSON.parse(await this.storms.scenarios()) as unknown,
      instances: this.storms.baseUrls(),
    };
  }

  /**
   * Streams one storm as Server-Sent Events (`event: start|answer|done|error`, `data:` one JSON
   * object, see load/live.ts LiveEvent). A POST, so the page sends the admin key in a header
   * and reads the stream with fetch (EventSource cannot set headers).
   */
  @Post('storms')
  @AdminOnly()
  @HttpCode(200)
  @ApiOperation({ summary: 'Run a storm, streamed as Server-Sent Events', description: TEACHING })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({ description: 'text/event-stream of start, answer..., done (or error)' })
  @ApiProblems(['DEMO_STORM_RUNNING', 'DEMO_UNAVAILABLE'])
  async storm(
    @Body() body: StartStormDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // The guard has verified this key as an admin key.
    const key = String(request.headers[API_KEY_HEADER]);
    const run = this.storms.start(body, key);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx would otherwise hold the stream back.
      'x-accel-buffering': 'no',
    });
    raw.on('close', run.stop);
    for await (const line of run.lines) {
      if (raw.destroyed) break;
      raw.write(`event: ${line.type}\ndata: ${line.json}\n\n`);
    }
    raw.end();
  }

  @Post('coupons/:code/redeem')
  @ApiCreated(RedemptionView, {
    summary: 'Redeem a coupon with a chosen strategy (locked, atomic, pessimistic or optimistic)',
    description: `${TEACHING} The same CouponsService.redeem as POST /v1/coupons/{code}/redeem, with the strategy of the query instead of COUPON_REDEEM_STRATEGY.`,
  })
  @ApiProblems(REDEEM_REFUSALS, { locks: [[CouponsService, 'redeemLocked']] })
  async redeem(
    @Param() params: CouponCodeParams,
    @Query() query: DemoRedeemQuery,
    @Body() body: RedeemCouponDto,
  ): Promise<RedemptionView> {
    return RedemptionView.fromRecord(
      await this.coupons.redeem({ code: params.code, ...body }, query.strategy),
    );
  }
}
