import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AuthGuard } from './auth/auth.guard';
import { RateLimitGuard, throttlerOptions } from './auth/rate-limit.guard';
import { ObservabilityModule } from './observability.module';
import { ConfigRepository } from './repositories/config.repository';
import { redisClient } from './repositories/lease-store.provider';
import { SharedRateLimitStorage } from './repositories/rate-limit-storage';

/**
 * Who may call what, and how often: the rate-limit guard first (it refuses floods, bad tokens
 * included, before they cost a verification each), then the authentication guard. Global guards run
 * in the order they are provided here. Budgets are counted in this process by one storage for both
 * stores and, when Redis is the store, shared with every replica through Redis in batches
 * (src/repositories/rate-limit-storage.ts).
 */
@Module({
  imports: [
    ObservabilityModule,
    ThrottlerModule.forRootAsync({
      inject: [ConfigRepository],
      useFactory: (config: ConfigRepository) => {
        const target = config.get().redis;
        const client = target ? redisClient(target, { enableAutoPipelining: true }) : null;
        return throttlerOptions(config, new SharedRateLimitStorage(client, { syncMs: config.get().broker.rateLimits.syncMilliseconds }));
      },
    }),
  ],
  providers: [
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class SecurityModule {}
