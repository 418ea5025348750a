import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/**
 * One registry per service process: the process and Node.js runtime metrics
 * under their standard names (`process_*`, `nodejs_*`, as stock dashboards
 * expect them) and every series labelled `whitepay_service` — not `service`,
 * which Prometheus' Kubernetes discovery sets to the Service object's name —
 * plus the given labels (`keeper` on every keeper service).
 */
export function createRegistry(service: string, labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ whitepay_service: service, ...labels });
  collectDefaultMetrics({ register: registry });
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
