import { Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from './config/config.loader';
import { GrantsController } from './controllers/grants.controller';
import { PoolsController } from './controllers/pools.controller';
import { CoreModule } from './core.module';
import { ObservabilityModule } from './observability.module';
import { SecurityModule } from './security.module';
import { WaitingRoomModule } from './waiting-room.module';
import { OperationsModule } from './operations.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        ObservabilityModule,
        SecurityModule,
        WaitingRoomModule,
        OperationsModule,
      ],
      controllers: [GrantsController, PoolsController],
    };
  }
}
