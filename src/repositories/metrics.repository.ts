import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isClusterWorker, workerMetrics } from '../workers';

/**
 * The Prometheus registry of this process. The only file that imports
 * prom-client: services declare metrics through these small handles, and
 * tests read values back with `value()` instead of parsing text.
 *
 * One registry per instance (not prom-client's global one), so several apps
 * in one test process do not share or clash over metrics.
 */

export type Labels<L extends string> = Record<L, string>;

export interface CounterMetric<L extends string> {
  inc(labels: Labels<L>, value?: number): void;
}

export interface GaugeMetric<L extends string> {
  set(labels: Labels<L>, value: number): void;
  /** Drops every series, so label sets that no longer exist disappear from the scrape. */
  reset(): void;
}

export interface HistogramMetric<L extends string> {
  observe(labels: Labels<L>, value: number): void;
  /** Creates the series with every bucket at 0. */
  zero(labels: Labels<L>): void;
}

export interface MetricSample {
  labels: Partial<Record<string, string | number>>;
  value: number;
  /** For histograms: `_bucket`, `_sum`, `_count`. */
  metricName?: string;
}

@Injectable()
export class MetricsRepository {
  private readonly registry = new Registry();
  /** In a worker of BROKER_WORKERS > 1: the whole broker's metrics, summed by the primary (src/workers.ts). */
  private readonly clusterRender = isClusterWorker() ? workerMetrics(() => this.registry.getMetricsAsJSON()) : null;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters fail `promtool check metrics`; the same figures are there per type as
    // nodejs_active_handles / _requests / _resources (sum them for the totals).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(name);
    }
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): CounterMetric<L> {
    const c = new Counter<L>({ name, help, labelNames: [...labelNames], registers: [this.registry] });
    return { inc: (labels, value = 1) => c.inc(labels as Partial<Record<L, string>>, value) };
  }

  /**
   * `aggregate`: how the workers of one process group combine (BROKER_WORKERS): `max` for shared
   * state every worker reads alike (pool counts), `sum` for what each has of its own.
   */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], aggregate: 'sum' | 'max' | 'min' = 'sum'): GaugeMetric<L> {
    const g = new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [this.registry], aggregator: aggregate });
    return {
      set: (labels, value) => g.set(labels as Partial<Record<L, string>>, value),
      reset: () => g.reset(),
    };
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): HistogramMetric<L> {
    const h = new Histogram<L>({ name, help, labelNames: [...labelNames], buckets, registers: [this.registry] });
    return {
      observe: (labels, value) => h.observe(labels as Partial<Record<L, string>>, value),
      zero: (labels) => h.zero(labels as Partial<Record<L, string>>),
    };
  }

  /** Content-Type of `render()` (Prometheus text exposition format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole registry in the text exposition format. */
  async render(): Promise<string> {
    if (this.clusterRender) return (await this.clusterRender()).text;
    return this.registry.metrics();
  }

  /** Current samples of one metric (tests and the live pages read figures this way). */
  async value(name: string): Promise<MetricSample[]> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return [];
    const data = await metric.get();
    return data.values.map((v) => {
      const metricName = (v as { metricName?: string }).metricName;
      return { labels: v.labels, value: v.value, ...(metricName ? { metricName } : {}) };
    });
  }
}
