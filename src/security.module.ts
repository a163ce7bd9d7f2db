import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AuthGuard } from './auth/auth.guard';
import { RateLimitGuard, throttlerOptions } from './auth/rate-limit.guard';
import { ObservabilityModule } from './observability.module';
import { ConfigRepository } from './repositories/config.repository';
import { redisClient } from './repositories/lease-store.provider';
import { RedisRateLimitStorage } from './repositories/rate-limit-storage';

/**
 * Who may call what, and how often: the rate-limit guard first (it refuses floods, bad tokens
 * included, before they cost a verification each), then the authentication guard. Global guards run
 * in the order they are provided here. Budgets are counted in Redis when Redis is the store (one
 * budget for all replicas), else in this process.
 */
@Module({
  imports: [
    ObservabilityModule,
    ThrottlerModule.forRootAsync({
      inject: [ConfigRepository],
      useFactory: (config: ConfigRepository) => {
        const target = config.get().redis;
        if (!target) return throttlerOptions(config);
        return throttlerOptions(config, new RedisRateLimitStorage(redisClient(target, { enableAutoPipelining: true })));
      },
    }),
  ],
  providers: [
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class SecurityModule {}
