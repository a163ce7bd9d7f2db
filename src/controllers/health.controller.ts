import { Controller, Get, Inject, ServiceUnavailableException, type OnModuleDestroy } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { NoRateLimit, Public } from '../auth/route-metadata';
import { BrokerError } from '../errors/error-codes';
import { LEASE_STORE, type StorePort } from '../repositories/lease-store';

/** A readiness probe gives up on the store after this. */
export const STORE_PING_TIMEOUT_MS = 1_000;

/** What terminus' HealthCheckService answers for a check without indicators while the app runs. */
const LIVE: HealthCheckResult = Object.freeze({ status: 'ok', info: Object.freeze({}), error: Object.freeze({}), details: Object.freeze({}) });

/**
 * Kubernetes probes. Liveness: the process answers (restart it if not).
 * Readiness: the state store answers too; while it does not, the load
 * balancer sends no traffic here, and grants could not be decided anyway.
 */
@ApiTags('health')
@Public()
@NoRateLimit()
@Controller('health')
export class HealthController implements OnModuleDestroy {
  private closing = false;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(LEASE_STORE) private readonly store: StorePort,
  ) {}

  /**
   * Nest destroys modules before any shutdown hook runs, so this is set before terminus starts failing
   * its checks (it would answer them with an exception of its own, which reached clients as a 500).
   */
  onModuleDestroy(): void {
    this.closing = true;
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiResponse({ status: 200, description: '{"status":"ok"}' })
  live(): HealthCheckResult {
    // A check without indicators is a constant answer, so no terminus on the probe's path. A process
    // that answers is alive, shutting down or not: the orchestrator is ending it already.
    return LIVE;
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness: the state store answers' })
  @ApiResponse({ status: 200, description: '{"status":"ok","info":{"store":{"status":"up","kind":"redis"}},...}' })
  @ApiResponse({ status: 503, description: 'application/problem+json, code store-unavailable, or shutting-down while this replica stops' })
  async ready(): Promise<HealthCheckResult> {
    if (this.closing) throw new BrokerError('shutting-down', 'this replica is shutting down: send requests to another one', { retryAfterSeconds: 1 });
    try {
      return await this.health.check([() => this.storeUp()]);
    } catch (e) {
      if (e instanceof ServiceUnavailableException) {
        const store = (e.getResponse() as HealthCheckResult).error?.store;
        throw new BrokerError('store-unavailable', `not ready: the ${this.store.kind} store does not answer (${String(store?.message ?? 'no answer')})`, {
          retryAfterSeconds: 5,
        });
      }
      throw e;
    }
  }

  private async storeUp() {
    const check = this.indicator.check('store');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PING_TIMEOUT_MS} ms`)), STORE_PING_TIMEOUT_MS);
        }),
      ]);
      return check.up({ kind: this.store.kind });
    } catch (e) {
      return check.down({ kind: this.store.kind, message: (e as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }
}
