import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { httpStatusOf, WhitePayError } from './errors.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
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
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler for mutating admin endpoints. */
    requireAdmin: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** preHandler for read endpoints (open or token-guarded by config). */
    requireRead: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
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
  }) as unknown as FastifyInstance;
  await app.register(swagger, {
    openapi: {
      info: { title: `WhitePay ${opts.service}`, version: opts.version ?? '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const guard = (needed: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!needed) return;
    if (!opts.adminToken || bearer(req) !== opts.adminToken) {
      await reply.code(opts.adminToken ? 401 : 403).send({
        code: opts.adminToken ? 'UNAUTHENTICATED' : 'ADMIN_DISABLED',
        message: opts.adminToken
          ? 'a valid bearer token is required'
          : 'admin endpoints are disabled (no token configured)',
      });
    }
  };
  app.decorate('requireAdmin', guard(true));
  app.decorate('requireRead', guard(opts.readOpen === false));

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof WhitePayError) {
      void reply.code(httpStatusOf(err)).send(err.toJSON());
      return;
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status < 500) {
      void reply.code(status).send({ code: 'BAD_REQUEST', message: (err as Error).message });
      return;
    }
    req.log.error({ err }, 'unhandled error');
    void reply.code(500).send({ code: 'INTERNAL', message: 'internal error' });
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', service: opts.service }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const results = await Promise.all(
      opts.readiness.map(async (c) => {
        try {
          await c.check();
          return { name: c.name, ok: true };
        } catch (err) {
          return { name: c.name, ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks: results });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    return reply.header('content-type', opts.registry.contentType).send(await opts.registry.metrics());
  });
  return app;
}
