import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/** One registry per service process, with the process/runtime defaults and a `service` label. */
export function createRegistry(service: string, labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, ...labels });
  collectDefaultMetrics({ register: registry, prefix: 'whitepay_' });
  return registry;
}

/** The counter every boundary uses for rejected input, by reason (an error code). */
export function rejectedCounter(registry: Registry): Counter<'boundary' | 'reason'> {
  const existing = registry.getSingleMetric('whitepay_rejected_messages_total');
  if (existing) return existing as Counter<'boundary' | 'reason'>;
  return new Counter({
    name: 'whitepay_rejected_messages_total',
    help: 'Inputs rejected at a boundary, by boundary and reason (error code)',
    labelNames: ['boundary', 'reason'],
    registers: [registry],
  });
}
