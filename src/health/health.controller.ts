import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  type HealthCheckResult,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { Public } from '../auth/auth.decorators';
import { RetryableError } from '../common/errors/domain-error';
import { ApiProblems } from '../common/http/api-problems.decorator';
import { LockHealthIndicator } from './lock.health';

/** What /health/live answers: the process is up and its event loop ran this handler. */
export interface LivenessAnswer {
  status: 'ok';
  /** Seconds since the process started. */
  uptimeS: number;
}

/**
 * Two probes with two jobs (the usual Kubernetes / Docker split):
 * - `live` decides whether to restart the process. It touches no dependency, so a Redis or
 *   PostgreSQL outage never gets every replica killed at once (a restart would not fix it).
 * - `ready` decides whether to send traffic here: PostgreSQL and the lock backend answer.
 *   `/health` is kept as an alias of ready for existing callers.
 */
@Public()
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: TypeOrmHealthIndicator,
    private readonly lock: LockHealthIndicator,
  ) {}

  @Get('live')
  @ApiOperation({
    summary: 'Liveness: the process answers (no PostgreSQL or Redis call); for restart decisions',
  })
  @ApiOkResponse({ description: 'The process and its event loop answer' })
  live(): LivenessAnswer {
    return { status: 'ok', uptimeS: Math.round(process.uptime()) };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: PostgreSQL and the lock backend (LOCK_BACKEND) answer; for routing',
  })
  @ApiProblems(['NOT_READY'])
  ready(): Promise<HealthCheckResult> {
    return this.readiness();
  }

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Alias of /health/ready' })
  @ApiProblems(['NOT_READY'])
  check(): Promise<HealthCheckResult> {
    return this.readiness();
  }

  private async readiness(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.postgres.pingCheck('postgres', { timeout: 1000 }),
        () => this.lock.isHealthy(),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      // Terminus' per-dependency report rides along as extension members, so an operator sees
      // which dependency is down; load balancers read only the status.
      const report = error.getResponse() as HealthCheckResult;
      const down = Object.keys(report.error ?? {}).join(', ') || 'a dependency';
      throw new RetryableError('NOT_READY', `Not ready: ${down} does not answer.`, 1000, {
        info: report.info ?? {},
        error: report.error ?? {},
        details: report.details,
      });
    }
  }
}
