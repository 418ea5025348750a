import { describe, expect, it } from 'vitest';
import { buildHttpServer, createRegistry, silentLogger, WhitePayError } from './index.js';

describe('operator HTTP server', () => {
  it('serves healthz, readyz, metrics, docs and maps typed errors', async () => {
    const registry = createRegistry('test');
    let dbUp = true;
    const app = await buildHttpServer({
      service: 'test',
      log: silentLogger(),
      registry,
      readiness: [
        {
          name: 'db',
          check: async () => {
            if (!dbUp) throw new Error('connection refused');
          },
        },
      ],
      adminToken: 'a-very-long-admin-token',
    });
    app.get('/v1/thing', async () => {
      throw new WhitePayError('THING_NOT_FOUND', 'no such thing', { kind: 'not_found' });
    });
    app.post('/v1/admin/x', { preHandler: app.requireAdmin }, async () => ({ ok: true }));
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    dbUp = false;
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json().checks[0]).toMatchObject({ name: 'db', ok: false, error: 'connection refused' });
    const metrics = await app.inject('/metrics');
    expect(metrics.body).toContain('whitepay_process_cpu_seconds_total');
    const err = await app.inject('/v1/thing');
    expect(err.statusCode).toBe(404);
    expect(err.json()).toMatchObject({ code: 'THING_NOT_FOUND' });
    expect((await app.inject({ method: 'POST', url: '/v1/admin/x' })).statusCode).toBe(401);
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/admin/x',
      headers: { authorization: 'Bearer a-very-long-admin-token' },
    });
    expect(ok.json()).toEqual({ ok: true });
    const docs = await app.inject('/docs/json');
    expect(docs.json().paths['/v1/thing']).toBeDefined();
    await app.close();
  });
});

describe('read endpoints closed by config', () => {
  it('need the bearer token when readOpen is false, and are open by default', async () => {
    for (const readOpen of [false, true]) {
      const app = await buildHttpServer({
        service: 'test',
        log: silentLogger(),
        registry: createRegistry('test'),
        readiness: [],
        adminToken: 'a-very-long-admin-token',
        readOpen,
      });
      app.get('/v1/thing', { preHandler: app.requireRead }, async () => ({ ok: true }));
      const anonymous = await app.inject('/v1/thing');
      expect(anonymous.statusCode).toBe(readOpen ? 200 : 401);
      const withToken = await app.inject({
        url: '/v1/thing',
        headers: { authorization: 'Bearer a-very-long-admin-token' },
      });
      expect(withToken.statusCode).toBe(200);
      // Health, readiness and metrics stay open for probes and scrapers.
      expect((await app.inject('/healthz')).statusCode).toBe(200);
      expect((await app.inject('/metrics')).statusCode).toBe(200);
      await app.close();
    }
  });
});
