import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from './ports.js';
import { exitedEarly, type Managed, spawnManaged } from './process.js';

/** One scrape job: its `job` label, its targets (`host:port`) and extra target labels. */
export interface ScrapeJob {
  job: string;
  targets: string[];
  labels?: Record<string, string>;
  metricsPath?: string;
}

/** An alert as Prometheus's `/api/v1/alerts` reports it. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

/** A series of an instant query's result. */
export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  url: string;
  port: number;
  /** An instant query (`/api/v1/query`); throws on a query error. */
  query(expr: string): Promise<PrometheusSample[]>;
  alerts(): Promise<PrometheusAlert[]>;
  stop(): Promise<void>;
}

/**
 * A real `prometheus` (Debian's package) on loopback with its own config and
 * data dir in a temp dir: scrapes `jobs` and evaluates `ruleFiles` every
 * `intervalMs` (default 1 s).
 */
export async function startPrometheus(opts: {
  jobs: ScrapeJob[];
  /** Rule file contents (YAML text); each becomes a file of the config's `rule_files`. */
  ruleFiles?: string[];
  intervalMs?: number;
}): Promise<PrometheusServer> {
  const dir = await tempDir('prometheus');
  const port = await freePort();
  const interval = `${opts.intervalMs ?? 1000}ms`;
  const ruleFiles: string[] = [];
  for (const [i, text] of (opts.ruleFiles ?? []).entries()) {
    const file = join(dir.path, `rules-${i}.yaml`);
    await writeFile(file, text);
    ruleFiles.push(file);
  }
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: ruleFiles,
    scrape_configs: opts.jobs.map((j) => ({
      job_name: j.job,
      metrics_path: j.metricsPath ?? '/metrics',
      static_configs: [{ targets: j.targets, labels: j.labels ?? {} }],
    })),
  };
  // JSON is YAML: no YAML library needed.
  await writeFile(join(dir.path, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const bin = process.env.WHITEPAY_PROMETHEUS ?? 'prometheus';
  const proc: Managed = spawnManaged(bin, [
    `--config.file=${join(dir.path, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir.path, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `prometheus on port ${port}`,
    async () => {
      if (exitedEarly(proc)) throw new Error(`prometheus exited: ${proc.output()}`);
      const res = await fetch(`${url}/-/ready`).catch(() => null);
      return res?.ok === true;
    },
    30_000,
    100,
  );
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    port,
    query: async (expr) =>
      (await api<{ result: PrometheusSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api<{ alerts: PrometheusAlert[] }>('/api/v1/alerts')).alerts,
    stop: async () => {
      await proc.stop();
      await dir.remove();
    },
  };
}
