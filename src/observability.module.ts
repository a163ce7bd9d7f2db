import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './controllers/health.controller';
import { MetricsController } from './controllers/metrics.controller';
import { PagesController } from './controllers/pages.controller';
import { LiveGateway } from './gateways/live.gateway';
import { MetricsRepository } from './repositories/metrics.repository';
import { PubSubRepository } from './repositories/pubsub.repository';
import { CapacityFeedService } from './services/capacity-feed.service';
import { GrantsFeedService } from './services/grants-feed.service';
import { LiveUpdatesService } from './services/live-updates.service';
import { MetricsService } from './services/metrics.service';

/**
 * The operations view: Prometheus metrics, health probes, the live WebSocket
 * gateway with its feeds, and the two pages. Builds on CoreModule (store,
 * config, events, auth, grants), which is global.
 *
 * Exported for other features: LiveUpdatesService (publish to a topic or to one
 * owner) and GrantsFeedService (report grant changes to their owner's pages).
 */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [MetricsController, HealthController, PagesController],
  providers: [
    MetricsRepository,
    MetricsService,
    PubSubRepository,
    LiveUpdatesService,
    CapacityFeedService,
    GrantsFeedService,
    LiveGateway,
  ],
  exports: [LiveUpdatesService, GrantsFeedService, MetricsService, MetricsRepository],
})
export class ObservabilityModule {}
