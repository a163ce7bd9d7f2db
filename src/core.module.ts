import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { AuthService } from './auth/auth.service';
import type { AppConfig } from './config/config.loader';
import { ConfigRepository } from './repositories/config.repository';
import { LEASE_STORE, type StorePort } from './repositories/lease-store';
import { leaseStoreProvider } from './repositories/lease-store.provider';
import { BrokerEvents } from './services/broker-events';
import { GrantService } from './services/grant.service';
import { PoolService } from './services/pool.service';
import { PseudonymService } from './services/pseudonym.service';
import { SweeperService } from './services/sweeper.service';

/**
 * Closes the store last: services stop their timers, cron jobs and sweeps in
 * beforeApplicationShutdown, which Nest runs for every module before any
 * onApplicationShutdown, so nothing issues a store command after this.
 */
@Injectable()
class StoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(LEASE_STORE) private readonly store: StorePort) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** What every feature builds on: configuration, the store, identity, events and the grant lifecycle. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    const shared = [ConfigRepository, LEASE_STORE, BrokerEvents, PseudonymService, AuthService, GrantService, PoolService, SweeperService];
    return {
      module: CoreModule,
      providers: [
        { provide: ConfigRepository, useValue: new ConfigRepository(config) },
        leaseStoreProvider,
        BrokerEvents,
        PseudonymService,
        AuthService,
        GrantService,
        PoolService,
        SweeperService,
        StoreLifecycle,
      ],
      exports: shared,
    };
  }
}
