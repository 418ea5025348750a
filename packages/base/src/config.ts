import { z } from 'zod';
import { WhitePayError } from './errors.js';

/**
 * Config is parsed once, at start, from the environment, with a zod schema.
 * Each service has a prefix (`CHALLENGER_`); a schema key `natsUrl` reads
 * `CHALLENGER_NATS_URL`. Fields whose description starts with `[secret]` are
 * redacted by `redactConfig` and listed as secrets in the generated docs.
 */
export type ConfigShape = z.ZodRawShape;

export class ConfigError extends WhitePayError {
  override readonly name = 'ConfigError';
  constructor(message: string, details: Record<string, unknown>) {
    super('CONFIG_INVALID', message, { kind: 'invalid_argument', details });
  }
}

export function envName(prefix: string, key: string): string {
  const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return prefix ? `${prefix}_${snake}` : snake;
}

export function secret<T extends z.ZodTypeAny>(schema: T, description: string): T {
  return schema.describe(`[secret] ${description}`) as T;
}

function isSecret(schema: z.ZodTypeAny): boolean {
  return (schema.description ?? '').startsWith('[secret]');
}

export function parseConfig<S extends ConfigShape>(
  shape: S,
  prefix: string,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[envName(prefix, key)];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const result = z.object(shape).safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      return `${envName(prefix, key)}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
  }
  return result.data;
}

export function redactConfig<S extends ConfigShape>(
  shape: S,
  cfg: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    const field = shape[k];
    out[k] = field && isSecret(field) ? '[redacted]' : v;
  }
  return out;
}

function defaultOf(schema: z.ZodTypeAny): unknown {
  let s: z.ZodTypeAny = schema;
  while (s) {
    if (s instanceof z.ZodDefault) return s._def.defaultValue();
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s._def.schema;
    else return undefined;
  }
  return undefined;
}

/** Markdown table of every variable: the config documentation is generated, never written by hand. */
export function describeConfig<S extends ConfigShape>(shape: S, prefix: string): string {
  const rows = Object.entries(shape).map(([key, schema]) => {
    const desc = (schema.description ?? '').replace(/^\[secret\]\s*/, '');
    const def = defaultOf(schema);
    const required = !schema.isOptional() && def === undefined;
    return `| \`${envName(prefix, key)}\` | ${required ? 'yes' : 'no'} | ${def === undefined ? '' : `\`${String(def)}\``} | ${isSecret(schema) ? 'yes' : ''} | ${desc} |`;
  });
  return [
    '| variable | required | default | secret | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Schema pieces shared by services. */
export const common = {
  logLevel: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('log level'),
  httpHost: z.string().default('0.0.0.0').describe('address of the operator HTTP API'),
  httpPort: z.coerce.number().int().min(0).max(65535).default(8080).describe('port of the operator HTTP API'),
  adminToken: secret(
    z.string().min(16).optional(),
    'bearer token for mutating admin endpoints; unset disables them',
  ),
  readOpen: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe('serve read endpoints without a token'),
  keeperId: z.coerce.number().int().min(0).describe('this keeper id in its groups'),
};

/** The config table of a README: what stands between `<!-- config:start -->` and `<!-- config:end -->`. */
export function readmeConfigTable(readme: string): string | undefined {
  return /<!-- config:start -->\n([\s\S]*?)\n<!-- config:end -->/.exec(readme)?.[1];
}

/**
 * The cells of a markdown table, row by row, ignoring column padding and the
 * width of separator rows (a formatter realigns tables without changing them).
 */
export function markdownTableCells(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .map((row) =>
      row
        .split('|')
        .map((c) => c.trim())
        .map((c) => (/^:?-+:?$/.test(c) ? '---' : c)),
    );
}
