import { createHash, timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type ErrorKind, httpStatusOf, WhitePayError } from './errors.js';

/**
 * The one error body of every HTTP answer that is not a success, whatever
 * failed (a service's typed error, request validation, an unknown route, the
 * bearer token, a crash): `WhitePayError.toJSON()`. Registered as the shared
 * schema `Error` and attached to every route's 4xx/5xx responses, so the
 * OpenAPI document names it once.
 */
export const ERROR_SCHEMA = {
  $id: 'Error',
  type: 'object',
  description: 'Every error answer: a stable code, its kind (the status class), a message and details',
  required: ['code', 'kind', 'message', 'details'],
  properties: {
    code: { type: 'string', description: 'stable SCREAMING_SNAKE code, never renamed once shipped' },
    kind: {
      type: 'string',
      enum: [
        'invalid_argument',
        'unauthenticated',
        'permission_denied',
        'not_found',
        'conflict',
        'failed_precondition',
        'unavailable',
        'deadline_exceeded',
        'internal',
      ],
    },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

/** The error responses every route documents (besides its own success). */
const ERROR_RESPONSES = {
  '4xx': { $ref: 'Error#' },
  '5xx': { $ref: 'Error#' },
} as const;

/** Routes whose requests are logged at debug (probes and scrapes come every few seconds). */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

function errorBody(code: string, kind: ErrorKind, message: string, details: Record<string, unknown> = {}) {
  return { code, kind, message, details };
}

export interface ReadinessCheck {
  name: string;
  /** Resolves when healthy; its rejection's message is the check's `error` in the body. */
  check: () => Promise<void>;
  /**
   * `degraded`: a failure is reported (`ok: false`, `/readyz` status
   * `degraded`) but the answer stays 200, so the pod stays in its Service —
   * for a condition an operator must see that taking the pod out of traffic
   * would not cure. Default `critical`: a failure answers 503 (`not_ready`).
   */
  severity?: 'critical' | 'degraded';
}

export interface HttpServerOptions {
  service: string;
  version?: string;
  log: Logger;
  registry: Registry;
  readiness: ReadinessCheck[];
  /** Bearer token for admin routes; when unset, admin routes answer 403. */
  adminToken?: string | undefined;
  /** When false, read routes need the admin token too. */
  readOpen?: boolean;
  /**
   * Origins allowed to call the read API from a browser (CORS): exact origins, `*` for any, or `null`
   * for pages opened from `file://`. Empty (the default): no CORS headers, browsers refuse
   * cross-origin reads.
   */
  corsOrigins?: readonly string[];
  /** Longest a request may take, ms (Node's `requestTimeout`; default 30 s). */
  requestTimeoutMs?: number;
}

/** The HTTP options every service's config carries (`serviceConfigSchema`), for `buildHttpServer`. */
export function httpOptionsOf(config: {
  adminToken?: string | undefined;
  readOpen: boolean;
  corsOrigins: readonly string[];
  requestTimeoutMs: number;
}): Pick<HttpServerOptions, 'adminToken' | 'readOpen' | 'corsOrigins' | 'requestTimeoutMs'> {
  return {
    adminToken: config.adminToken,
    readOpen: config.readOpen,
    corsOrigins: config.corsOrigins,
    requestTimeoutMs: config.requestTimeoutMs,
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest guard of mutating admin endpoints: it runs before the body is read or parsed. */
    requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** onRequest guard of read endpoints (open, or token-guarded by config). */
    requireRead: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

/** The token of an `Authorization: Bearer <token>` value (HTTP header or gRPC metadata); undefined otherwise. */
export function bearerToken(authorization: unknown): string | undefined {
  return typeof authorization === 'string' && authorization.startsWith('Bearer ')
    ? authorization.slice(7)
    : undefined;
}

function bearer(req: FastifyRequest): string | undefined {
  return bearerToken(req.headers.authorization);
}

/** Compares a presented token with the configured one in constant time (both hashed to 32 bytes first). */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `GET /v1/records/:user/:pid` → `getV1RecordsByUserByPid`: a stable id for an operation that names none. */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

/**
 * The operator HTTP API every service exposes: `/healthz` (process up),
 * `/readyz` (dependencies reachable), `/metrics` (Prometheus), `/docs`
 * (OpenAPI). Services add their own read routes. Built, never listened here:
 * tests use `inject`, `main.ts` calls `listen`.
 */
export async function buildHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'http' }) as FastifyBaseLogger,
    // Requests are logged once, on response, by the hook below (probes and scrapes at debug).
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
  }) as unknown as FastifyInstance;
  app.addSchema(ERROR_SCHEMA);
  // Every route documents the shared error body for its failures.
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide === true) return;
    const method = Array.isArray(route.method) ? route.method[0]! : route.method;
    route.schema = {
      operationId: operationIdOf(method, route.url),
      tags: [opts.service],
      ...route.schema,
      response: { ...ERROR_RESPONSES, ...(route.schema?.response as object) },
    };
  });
  app.addHook('onResponse', async (req, reply) => {
    const quiet = QUIET_ROUTES.has(req.routeOptions.url ?? '');
    const line = {
      method: req.method,
      url: req.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    };
    if (quiet) req.log.debug(line, 'request');
    else req.log.info(line, 'request');
  });
  const origins = opts.corsOrigins ?? [];
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : [...origins],
      methods: ['GET', 'HEAD'],
      allowedHeaders: ['authorization', 'content-type'],
      maxAge: 600,
    });
  }
  await app.register(swagger, {
    openapi: {
      info: { title: `WhitePay ${opts.service}`, version: opts.version ?? '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const guard = (needed: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!needed) return;
    if (!opts.adminToken || !tokenMatches(bearer(req), opts.adminToken)) {
      await reply
        .code(opts.adminToken ? 401 : 403)
        .send(
          opts.adminToken
            ? errorBody('UNAUTHENTICATED', 'unauthenticated', 'a valid bearer token is required')
            : errorBody(
                'ADMIN_DISABLED',
                'permission_denied',
                'admin endpoints are disabled (no token configured)',
              ),
        );
    }
  };
  app.decorate('requireAdmin', guard(true));
  app.decorate('requireRead', guard(opts.readOpen === false));

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof WhitePayError) {
      void reply.code(httpStatusOf(err)).send(err.toJSON());
      return;
    }
    const e = err as { statusCode?: number; code?: string; validation?: unknown; message: string };
    if (e.validation !== undefined) {
      void reply
        .code(400)
        .send(errorBody('BAD_REQUEST', 'invalid_argument', e.message, { validation: e.validation }));
      return;
    }
    const status = e.statusCode;
    if (status && status < 500) {
      const kind: ErrorKind =
        status === 404 ? 'not_found' : status === 413 ? 'invalid_argument' : 'invalid_argument';
      void reply
        .code(status)
        .send(errorBody('BAD_REQUEST', kind, e.message, e.code ? { fastify: e.code } : {}));
      return;
    }
    req.log.error({ err }, 'unhandled error');
    void reply.code(500).send(errorBody('INTERNAL', 'internal', 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .code(404)
      .send(errorBody('ROUTE_NOT_FOUND', 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  const probe = (description: string, body: object) => ({
    tags: ['operations'],
    summary: description,
    response: { 200: body },
  });

  const readiness = {
    type: 'object',
    required: ['status', 'checks'],
    properties: {
      status: { type: 'string', enum: ['ready', 'degraded', 'not_ready'] },
      checks: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'ok', 'severity'],
          properties: {
            name: { type: 'string' },
            ok: { type: 'boolean' },
            severity: { type: 'string', enum: ['critical', 'degraded'] },
            error: { type: 'string' },
          },
        },
      },
    },
  } as const;
  app.get(
    '/healthz',
    {
      schema: probe('the process is up', {
        type: 'object',
        required: ['status', 'service'],
        properties: { status: { type: 'string', enum: ['ok'] }, service: { type: 'string' } },
      }),
    },
    async () => ({ status: 'ok', service: opts.service }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        ...probe(
          'every dependency answers (503 with the same body when a critical check fails; 200 with status degraded when only degraded ones do)',
          readiness,
        ),
        response: { 200: readiness, 503: readiness },
      },
    },
    async (_req, reply) => {
      const results = await Promise.all(
        opts.readiness.map(async (c) => {
          const severity = c.severity ?? 'critical';
          try {
            await c.check();
            return { name: c.name, ok: true, severity };
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            return { name: c.name, ok: false, severity, error };
          }
        }),
      );
      const failed = results.filter((r) => !r.ok);
      const status =
        failed.length === 0
          ? 'ready'
          : failed.some((r) => r.severity === 'critical')
            ? 'not_ready'
            : 'degraded';
      return reply.code(status === 'not_ready' ? 503 : 200).send({ status, checks: results });
    },
  );
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format)',
        produces: ['text/plain'],
        response: { 200: { type: 'string', description: 'text/plain; version=0.0.4' } },
      },
    },
    async (_req, reply) => {
      return reply.header('content-type', opts.registry.contentType).send(await opts.registry.metrics());
    },
  );
  return app;
}
