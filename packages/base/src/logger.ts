import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerConfig {
  service: string;
  level?: string;
  /** Extra fields on every line (keeper id, replica). */
  base?: Record<string, unknown>;
  /** Paths to redact (secrets). */
  redact?: string[];
}

/** One root logger per service; parts take `log.child({ component })`. */
export function createLogger(cfg: LoggerConfig, destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level: cfg.level ?? 'info',
    base: { service: cfg.service, ...cfg.base },
    redact: { paths: cfg.redact ?? [], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
