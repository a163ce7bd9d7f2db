import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/route-metadata';
import { MetricsService } from '../services/metrics.service';

/**
 * Prometheus scrape endpoint. No token: Prometheus scrapes it over the
 * cluster network, and in production it must be reachable there only — the
 * ingress must not route /metrics (README, "Operations view", says how). It
 * carries no employee data, only pool, member and agency ids from the config.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { contentType, body } = await this.metrics.scrape();
    void reply.header('Content-Type', contentType);
    return body;
  }
}
