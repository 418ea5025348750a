import { readFileSync } from 'node:fs';
import { closest } from 'fastest-levenshtein';
import { z } from 'zod';
import { WhitePayError } from './errors.js';

/**
 * Config is parsed once, at start, from the environment, with a zod schema.
 * Each service has a prefix (`CHALLENGER_`); a schema key `natsUrl` reads
 * `CHALLENGER_NATS_URL`. Fields wrapped in `secret()` (their description
 * starts with `[secret]`) are redacted by `redactConfig`, hidden from every
 * log line by `serviceLogger` and listed as secrets in the generated docs.
 * A secret may instead be read from a file: `CHALLENGER_PRIVATE_KEY_FILE`
 * names a file (a mounted Secret) whose content, less its trailing newline,
 * is the value — one of the two, never both.
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

/** The keys of `shape` marked with `secret()`: what the logger and `redactConfig` hide. */
export function secretKeys(shape: ConfigShape): string[] {
  return Object.entries(shape)
    .filter(([, schema]) => isSecret(schema))
    .map(([key]) => key);
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'\\<>]+@/gi;
const URL_QUERY_SECRET =
  /([?&](?:api[-_]?key|apikey|key|token|access[-_]?token|auth|secret|password|passwd|pass)=)([^&\s"'#\\<>]+)/gi;
const HTTP_URL = /\b((?:https?|wss?):\/\/[^\s/?#"'\\<>]+)(\/[^\s?#"'\\<>]*)/gi;
/** A path segment that is a credential, not a route: 20+ characters of a token alphabet with a digit (Infura, Alchemy, QuickNode keys). */
const PATH_TOKEN = /^(?!0x)(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}$/;

/**
 * `text` with the credentials of every URL in it replaced by `[redacted]`: the
 * userinfo of any scheme (`redis://user:pass@`, `postgres://`, `nats://`), the
 * query parameters that carry keys (`?apikey=`, `&token=`) and, in HTTP and
 * WebSocket URLs, path segments that are API keys (`/v3/<key>`).
 */
export function redactUrlCredentials(text: string): string {
  return text
    .replace(URL_USERINFO, '$1[redacted]@')
    .replace(URL_QUERY_SECRET, (_, name: string, value: string) => `${name}[redacted]${trailing(value)}`)
    .replace(
      HTTP_URL,
      (_, origin: string, path: string) =>
        `${origin}${path
          .split('/')
          .map((seg) => {
            const end = trailing(seg);
            return PATH_TOKEN.test(seg.slice(0, seg.length - end.length)) ? `[redacted]${end}` : seg;
          })
          .join('/')}`,
    );
}

/** The punctuation that ends a sentence after a URL (`…/v3/<key>: refused`): not part of it. */
function trailing(s: string): string {
  return /[.,;:)\]]*$/.exec(s)?.[0] ?? '';
}

/**
 * Parses the variables of `shape` under `prefix` from `env`. A variable that
 * carries the prefix but names no key of the shape is refused, with the
 * closest known name: a misspelt or stale variable (a chart rendering
 * `X_ACCOUNT_KEY` for `X_PRIVATE_KEY`) fails the start instead of being
 * silently ignored.
 */
export function parseConfig<S extends ConfigShape>(
  shape: S,
  prefix: string,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  const raw: Record<string, string> = {};
  const problems = unknownVariables(shape, prefix, env).map(
    (u) => `${u.name}: unknown variable${u.closest ? ` (did you mean ${u.closest}?)` : ''}`,
  );
  for (const [key, schema] of Object.entries(shape)) {
    const name = envName(prefix, key);
    const value = env[name];
    if (value !== undefined && value !== '') raw[key] = value;
    const file = isSecret(schema) ? env[`${name}${FILE_SUFFIX}`] : undefined;
    if (file === undefined || file === '') continue;
    if (key in raw) {
      problems.push(`${name}: set either ${name} or ${name}${FILE_SUFFIX}, not both`);
      continue;
    }
    try {
      raw[key] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(
        `${name}${FILE_SUFFIX}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  const result = z.object(shape).safeParse(raw);
  if (!result.success) {
    for (const i of result.error.issues) {
      const key = String(i.path[0] ?? '');
      problems.push(`${envName(prefix, key)}: ${i.message}`);
    }
  }
  if (problems.length > 0 || !result.success) {
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`, { problems });
  }
  return result.data;
}

/** The suffix of the variable naming a secret's file (`<NAME>_FILE`). */
export const FILE_SUFFIX = '_FILE';

/** Every variable the shape reads, in shape order. */
export function knownVariables(shape: ConfigShape, prefix: string): string[] {
  return Object.keys(shape).map((k) => envName(prefix, k));
}

/** Variables of `env` that carry `<prefix>_` but are not in the shape, each with the closest known name. */
export function unknownVariables(
  shape: ConfigShape,
  prefix: string,
  env: NodeJS.ProcessEnv,
): { name: string; closest: string | undefined }[] {
  if (!prefix) return [];
  const known = knownVariables(shape, prefix);
  const set = new Set([...known, ...secretKeys(shape).map((k) => `${envName(prefix, k)}${FILE_SUFFIX}`)]);
  return Object.keys(env)
    .filter((name) => name.startsWith(`${prefix}_`) && !set.has(name))
    .sort()
    .map((name) => ({ name, closest: closestVariable(name, known) }));
}

/**
 * The known name an unknown one most likely meant: among the names that end in the same word
 * (`X_ACCOUNT_KEY` → the `…_KEY`s), else among all, the nearest by edit distance.
 */
function closestVariable(name: string, known: readonly string[]): string | undefined {
  const last = name.slice(name.lastIndexOf('_'));
  const sameEnd = known.filter((k) => k.endsWith(last));
  const pool = sameEnd.length > 0 ? sameEnd : known;
  return pool.length > 0 ? closest(name, [...pool]) : undefined;
}

/**
 * Loads a service's configuration at start. A configuration error ends the
 * process with exit code 2 and one JSON log line (`code`, `problems`), not a
 * stack trace: what a kubelet's `kubectl logs` shows an operator.
 */
export function loadServiceConfig<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stdout.write(
      `${JSON.stringify({
        level: 'fatal',
        time: new Date().toISOString(),
        service,
        code: err.code,
        problems: err.details.problems,
        msg: err.message,
      })}\n`,
    );
    process.exit(2);
  }
}

export function redactConfig<S extends ConfigShape>(
  shape: S,
  cfg: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) {
    const field = shape[k];
    out[k] = field && isSecret(field) ? '[redacted]' : typeof v === 'string' ? redactUrlCredentials(v) : v;
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
    return `| \`${envName(prefix, key)}\` | ${required ? 'yes' : 'no'} | ${def === undefined ? '' : `\`${String(def)}\``} | ${isSecret(schema) ? `yes (or \`${FILE_SUFFIX}\`)` : ''} | ${desc} |`;
  });
  return [
    '| variable | required | default | secret | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Schema pieces shared by services (`keeperId` and the operator HTTP API of `serviceConfigSchema`). */
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
  corsOrigins: z
    .string()
    .regex(
      /^(\*|null|https?:\/\/[^,\s]+)(,(null|https?:\/\/[^,\s]+))*$/,
      'expected origin[,origin…], * or null',
    )
    .optional()
    .transform((v) => (v ? v.split(',') : []))
    .describe(
      'origins whose browser pages may call the read API (CORS): `https://dash.example.org[,…]`, `null` for pages opened from file://, `*` for any; unset: none',
    ),
  requestTimeoutMs: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30_000)
    .describe('longest an HTTP request may take, ms, body included'),
};

/**
 * The piece every service spreads first (dYdX's `baseConfigSchema`): log level
 * and the operator HTTP API. Other pieces come from the packages that own the
 * connection: `natsConfigSchema` (@whitepay/bus), `redisConfigSchema`
 * (@whitepay/redis), `chainConfigSchema` (@whitepay/chain), `storeConfigSchema`
 * (@whitepay/store).
 */
export const serviceConfigSchema = {
  logLevel: common.logLevel,
  httpHost: common.httpHost,
  httpPort: common.httpPort,
  adminToken: common.adminToken,
  readOpen: common.readOpen,
  corsOrigins: common.corsOrigins,
  requestTimeoutMs: common.requestTimeoutMs,
};

/** The config table of a README: what stands between `<!-- config:start -->` and `<!-- config:end -->`. */
export function readmeConfigTable(readme: string): string | undefined {
  return /<!-- config:start -->\n([\s\S]*?)\n<!-- config:end -->/.exec(readme)?.[1];
}

/** `readme` with the table between `<!-- config:start -->` and `<!-- config:end -->` replaced by `table` (`docs:config`). */
export function withReadmeConfigTable(readme: string, table: string): string {
  if (readmeConfigTable(readme) === undefined) throw new Error('the README has no config markers');
  return readme.replace(
    /<!-- config:start -->\n[\s\S]*?\n<!-- config:end -->/,
    `<!-- config:start -->\n${table}\n<!-- config:end -->`,
  );
}

/** The placeholder prefix of a package's config piece in its README: the service's prefix goes there. */
export const PIECE_PREFIX = '<PREFIX>';

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
