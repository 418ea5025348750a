import { describe, expect, it } from 'vitest';
import { buildHttpServer, createRegistry, silentLogger, tokenMatches, WhitePayError } from './index.js';

describe('operator HTTP server', () => {
  it('serves healthz, readyz, metrics, docs and maps typed errors', async () => {
    const registry = createRegistry('test');
    let dbUp = true;
    let keepingUp = true;
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
        {
          name: 'lag',
          severity: 'degraded',
          check: async () => {
            if (!keepingUp) throw new Error('120 blocks behind');
          },
        },
      ],
      adminToken: 'a-very-long-admin-token',
    });
    app.get('/v1/thing', async () => {
      throw new WhitePayError('THING_NOT_FOUND', 'no such thing', { kind: 'not_found' });
    });
    app.post('/v1/admin/x', { onRequest: app.requireAdmin }, async () => ({ ok: true }));
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: [
        { name: 'db', ok: true, severity: 'critical' },
        { name: 'lag', ok: true, severity: 'degraded' },
      ],
    });
    // a failing degraded check is visible but keeps the answer 200 (the pod stays in its Service)
    keepingUp = false;
    const degraded = await app.inject('/readyz');
    expect(degraded.statusCode).toBe(200);
    expect(degraded.json()).toMatchObject({
      status: 'degraded',
      checks: [{ ok: true }, { name: 'lag', ok: false, severity: 'degraded', error: '120 blocks behind' }],
    });
    dbUp = false;
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json().status).toBe('not_ready');
    expect(notReady.json().checks[0]).toMatchObject({ name: 'db', ok: false, error: 'connection refused' });
    const metrics = await app.inject('/metrics');
    expect(metrics.body).toContain('process_cpu_seconds_total');
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
      app.get('/v1/thing', { onRequest: app.requireRead }, async () => ({ ok: true }));
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

describe('one error shape, guards before the body, CORS, OpenAPI ids', () => {
  const build = (extra: { corsOrigins?: string[] } = {}) =>
    buildHttpServer({
      service: 'test',
      log: silentLogger(),
      registry: createRegistry('test'),
      readiness: [],
      adminToken: 'a-very-long-admin-token',
      ...extra,
    });
  const shape = {
    code: expect.any(String),
    kind: expect.any(String),
    message: expect.any(String),
    details: {},
  };

  it('answers unknown routes, bad input, missing tokens and crashes with {code, kind, message, details}', async () => {
    const app = await build();
    app.get(
      '/v1/n/:n',
      { schema: { params: { type: 'object', properties: { n: { type: 'integer' } } } } },
      async () => ({ ok: true }),
    );
    app.get('/v1/crash', async () => {
      throw new Error('boom');
    });
    app.post('/v1/admin/x', { onRequest: app.requireAdmin }, async () => ({ ok: true }));
    const missing = await app.inject('/v1/nothing-here?x=1');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      ...shape,
      code: 'ROUTE_NOT_FOUND',
      kind: 'not_found',
      message: 'no route GET /v1/nothing-here',
    });
    const bad = await app.inject('/v1/n/abc');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      code: 'BAD_REQUEST',
      kind: 'invalid_argument',
      details: { validation: expect.any(Array) },
    });
    const crash = await app.inject('/v1/crash');
    expect(crash.statusCode).toBe(500);
    expect(crash.json()).toEqual({ ...shape, code: 'INTERNAL', kind: 'internal', message: 'internal error' });
    // The token is checked before the body is parsed: malformed JSON without a token is a 401, not a 400.
    const unauth = await app.inject({
      method: 'POST',
      url: '/v1/admin/x',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(unauth.statusCode).toBe(401);
    expect(unauth.json()).toEqual({ ...shape, code: 'UNAUTHENTICATED', kind: 'unauthenticated' });
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/admin/x',
      headers: { authorization: 'Bearer a-very-long-admin-tokeX' },
    });
    expect(wrong.statusCode).toBe(401);
    await app.close();
  });

  it('compares tokens in constant time whatever their lengths', () => {
    expect(tokenMatches('a-very-long-admin-token', 'a-very-long-admin-token')).toBe(true);
    expect(tokenMatches('a-very-long-admin-toke', 'a-very-long-admin-token')).toBe(false);
    expect(tokenMatches(undefined, 'a-very-long-admin-token')).toBe(false);
    expect(tokenMatches('', 'a-very-long-admin-token')).toBe(false);
  });

  it('documents every route with an operation id, a tag, its success and the shared error schema', async () => {
    const app = await build();
    app.get(
      '/v1/records/:user/:pid',
      { schema: { response: { 200: { type: 'object' } } } },
      async () => ({}),
    );
    await app.ready();
    const doc = (await app.inject('/docs/json')).json();
    const op = doc.paths['/v1/records/{user}/{pid}'].get;
    expect(op.operationId).toBe('getV1RecordsByUserByPid');
    expect(op.tags).toEqual(['test']);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '4XX', '5XX']));
    expect(doc.components.schemas.Error.required).toEqual(['code', 'kind', 'message', 'details']);
    for (const path of ['/healthz', '/readyz', '/metrics'])
      expect(doc.paths[path].get.responses['200']).toBeDefined();
    await app.close();
  });

  it('sends CORS headers only for configured origins', async () => {
    const closed = await build();
    const none = await closed.inject({ url: '/healthz', headers: { origin: 'https://dash.example' } });
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
    await closed.close();
    const open = await build({ corsOrigins: ['https://dash.example', 'null'] });
    const yes = await open.inject({ url: '/healthz', headers: { origin: 'https://dash.example' } });
    expect(yes.headers['access-control-allow-origin']).toBe('https://dash.example');
    const file = await open.inject({ url: '/healthz', headers: { origin: 'null' } });
    expect(file.headers['access-control-allow-origin']).toBe('null');
    const other = await open.inject({ url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await open.inject({
      method: 'OPTIONS',
      url: '/healthz',
      headers: { origin: 'https://dash.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.statusCode).toBe(204);
    await open.close();
  });
});
