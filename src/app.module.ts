import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
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
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            // Tokens and cookies never reach the log; neither does any employee id (only pseudonyms exist past auth).
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.query.access_token'], censor: '[redacted]' },
            autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
            customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
            serializers: {
              req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, url: req.url?.split('?')[0] }),
            },
          },
        }),
      ],
      controllers: [GrantsController, PoolsController],
    };
  }
}
