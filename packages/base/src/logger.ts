import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { type ConfigShape, redactUrlCredentials, secretKeys } from './config.js';

export type { DestinationStream, Logger } from 'pino';

export interface LoggerConfig {
  service: string;
  level?: string;
  /** Extra fields on every line (keeper id, replica). */
  base?: Record<string, unknown>;
  /** Paths to redact (secrets). */
  redact?: string[];
  /** Secret values: any occurrence in a line, under any field or inside a message, becomes `[redacted]`. */
  secrets?: readonly string[];
}

/** Shorter values are not scrubbed by value (they would hit ordinary text); their paths still are. */
const MIN_SCRUBBED = 8;

/** `line` with every secret value and every URL credential replaced by `[redacted]`. */
export function scrubLine(line: string, secrets: readonly string[] = []): string {
  let out = line;
  for (const s of secrets) if (s.length >= MIN_SCRUBBED) out = out.replaceAll(s, '[redacted]');
  return redactUrlCredentials(out);
}

/**
 * One root logger per service; parts take `log.child({ component })`. Every
 * line passes `scrubLine` before it is written: URL credentials
 * (`redis://user:pass@`, RPC keys) never reach the output, whatever field or
 * error message carries them.
 */
export function createLogger(cfg: LoggerConfig, destination?: DestinationStream): Logger {
  const secrets = [...(cfg.secrets ?? [])].sort((a, b) => b.length - a.length);
  const opts: LoggerOptions = {
    level: cfg.level ?? 'info',
    base: { service: cfg.service, ...cfg.base },
    redact: { paths: cfg.redact ?? [], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      // One `msg` per line: a `msg` field of the logged object (an error's message) would be written
      // next to the line's own message as a second `msg` key, which JSON parsers drop one of.
      log: (obj) => {
        if (!('msg' in obj)) return obj;
        const { msg, ...rest } = obj;
        return { ...rest, reason: msg };
      },
    },
    hooks: { streamWrite: (line) => scrubLine(line, secrets) },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

export interface ServiceLoggerConfig {
  service: string;
  /** The service's config shape: its `secret()` fields are what is redacted. */
  shape: ConfigShape;
  /** The parsed config: the values of the secret fields are scrubbed from every line. */
  config: Record<string, unknown>;
  base?: Record<string, unknown>;
}

/**
 * The root logger of a service, its redaction derived from the schema's
 * `secret()` markers: each secret key is censored as a field (`privateKey`,
 * `*.privateKey`), and its value wherever it appears in a line (an error
 * message quoting a connection string). No list is written by hand.
 */
export function serviceLogger(cfg: ServiceLoggerConfig, destination?: DestinationStream): Logger {
  const keys = secretKeys(cfg.shape);
  const secrets = new Set<string>();
  for (const k of keys) {
    const v = cfg.config[k];
    if (typeof v !== 'string') continue;
    secrets.add(v);
    if (/^0x[0-9a-fA-F]+$/.test(v)) secrets.add(v.slice(2));
  }
  const level = cfg.config.logLevel;
  return createLogger(
    {
      service: cfg.service,
      ...(typeof level === 'string' ? { level } : {}),
      ...(cfg.base ? { base: cfg.base } : {}),
      redact: keys.flatMap((k) => [k, `*.${k}`]),
      secrets: [...secrets],
    },
    destination,
  );
}

/** A logger that writes nothing, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
