import { Validator } from '@seriousme/openapi-schema-validator';
import { waitFor } from '@whitepay/testkit';
import { getAddress } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AVAILABLE_SERVICES,
  type DeployedUpkeeping,
  type KeeperHandle,
  type ProviderHandle,
  type ServiceName,
  type SoloKeeper,
  startSoloKeeper,
} from '../harness/index.js';

// Issue "Operations": a running keeper answers /healthz, /readyz, /metrics and
// every documented read endpoint of every service, as an ops dashboard would
// query them.

/** Metric families each service must expose (SPEC 9 / the operations issue). */
const REQUIRED_METRICS: Record<ServiceName, string[]> = {
  challenger: ['whitepay_challenges_total', 'whitepay_rejected_messages_total'],
  'challenge-store': [
    'whitepay_store_ingested_records_total',
    'whitepay_store_ingest_block_lag',
    'whitepay_store_ingest_pending_messages',
    'whitepay_rejected_messages_total',
  ],
  'st-calculator': ['whitepay_st_query_seconds', 'whitepay_st_queries_total'],
  'chain-submitter': [
    'whitepay_chain_head',
    'whitepay_payments_total',
    'whitepay_gas_spent_wei_total',
    'whitepay_fees_earned_wei_total',
    'whitepay_wallet_balance_wei',
    'whitepay_rejected_messages_total',
    'whitepay_rpc_request_duration_seconds',
    'whitepay_rpc_request_errors_total',
  ],
  'consensus-coordinator': [
    'whitepay_rounds_total',
    'whitepay_round_duration_seconds',
    'whitepay_rejected_messages_total',
    'whitepay_rpc_request_duration_seconds',
    'whitepay_rpc_request_errors_total',
  ],
};

interface OpenApiParam {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: { type?: string; pattern?: string };
}
interface OpenApiOp {
  parameters?: OpenApiParam[];
  security?: unknown[];
  operationId?: string;
  tags?: string[];
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOp>>;
}

/** The one error body of every failing answer (issue 16). */
const ERROR_SHAPE = {
  code: expect.stringMatching(/^[A-Z][A-Z0-9_]+$/),
  kind: expect.any(String),
  message: expect.any(String),
  details: expect.any(Object),
};

/** Fields that are block numbers, wei or other uint64 quantities: decimal strings everywhere (docs/api.md). */
const DECIMAL_FIELDS = new Set([
  'block',
  'head',
  'number',
  'addedBlock',
  'removedBlock',
  'carryBlock',
  'scannedTo',
  'addedAt',
  'ts',
  'te',
  'st',
  'amount',
  'space',
]);

/** Every block number and amount of an answer is a decimal string (the reducer's `state` dump aside). */
function expectOneEncoding(value: unknown, where: string, key = ''): void {
  if (key === 'state') return;
  if (Array.isArray(value)) {
    for (const v of value) expectOneEncoding(v, where, key);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) expectOneEncoding(v, where, k);
    return;
  }
  if (DECIMAL_FIELDS.has(key) && value !== null)
    expect(value, `${where}: ${key} is a decimal string`).toEqual(expect.stringMatching(/^[0-9]+$/));
}

/** A paged route: `limit=1` pages follow `next` without repeating an item; a bad cursor is a typed 400. */
async function expectPaged(full: string, op: OpenApiOp): Promise<void> {
  const url = new URL(full);
  const key = (body: Record<string, unknown>) => Object.keys(body).find((k) => Array.isArray(body[k]))!;
  url.searchParams.set('limit', '1');
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const res = await fetch(url);
    expect(res.status, `GET ${url}`).toBe(200);
    const body = (await res.json()) as Record<string, unknown> & { next?: string };
    const items = body[key(body)] as unknown[];
    expect(items.length, `GET ${url}`).toBeLessThanOrEqual(1);
    for (const it of items) {
      const id = JSON.stringify(it);
      expect(seen.has(id), `GET ${url} repeats an item`).toBe(false);
      seen.add(id);
    }
    if (body.next === undefined) break;
    expect(body.next, `${op.operationId} next`).toMatch(/^[A-Za-z0-9_-]+$/);
    url.searchParams.set('cursor', body.next);
  }
  url.searchParams.set('cursor', 'bm90LWEtY3Vyc29y');
  const bad = await fetch(url);
  expect(bad.status, `GET ${url} (bad cursor)`).toBe(400);
  expect(await bad.json(), `GET ${url} (bad cursor)`).toEqual({
    ...ERROR_SHAPE,
    code: expect.stringMatching(/^BAD_(CURSOR|PAGE_TOKEN)$/),
    kind: 'invalid_argument',
  });
}

describe('operator HTTP APIs of a running keeper', () => {
  let chain: DeployedUpkeeping;
  let keeper: KeeperHandle;
  let provider: ProviderHandle;
  let solo: SoloKeeper | undefined;

  beforeAll(async () => {
    solo = await startSoloKeeper();
    ({ chain, keeper, provider } = solo);
    // Let a few blocks flow so that counters and the stores have content.
    await waitFor(
      'records ingested',
      async () => {
        const res = await fetch(
          `${keeper.urls['challenge-store']!.http}/v1/records/${chain.user}/${provider.pid}`,
        );
        return res.ok && ((await res.json()) as { records: unknown[] }).records.length >= 2;
      },
      60_000,
      250,
    );
  }, 180_000);

  afterAll(async () => {
    await solo?.stop();
  });

  const valueFor = (p: OpenApiParam): string => {
    const n = p.name.toLowerCase();
    if (n === 'user') return chain.user;
    if (n === 'pid' || n === 'account') return provider.pid;
    if (n === 'tid') return `0x${'00'.repeat(32)}`;
    if (n === 'upkeeping' || n === 'address') return chain.upkeeping;
    if (['ts', 'from'].includes(n)) return '1';
    if (['te', 'to'].includes(n)) return '30';
    if (['limit', 'pagesize', 'page_size'].includes(n)) return '10';
    if (p.schema?.type === 'integer' || p.schema?.type === 'number') return '1';
    if (p.schema?.type === 'boolean') return 'false';
    return '1';
  };

  it.each(AVAILABLE_SERVICES.map((s) => [s]))(
    '%s: health, readiness, metrics and every documented read endpoint',
    async (name) => {
      const base = keeper.urls[name]!.http;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status, JSON.stringify(await ready.clone().json())).toBe(200);

      const metrics = await (await fetch(`${base}/metrics`)).text();
      for (const family of REQUIRED_METRICS[name])
        expect(metrics, `${name} exposes ${family}`).toContain(`# TYPE ${family} `);
      expect(metrics).toContain('process_resident_memory_bytes');

      const doc = (await (await fetch(`${base}/docs/json`)).json()) as OpenApiDoc;
      const reads = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops)
          .filter(([method, op]) => method === 'get' && !path.includes('/admin/') && !op.security)
          .map(([, op]) => ({ path, op })),
      );
      expect(reads.length, `${name} documents read endpoints`).toBeGreaterThan(0);
      for (const { path, op } of reads) {
        let url = path;
        const query = new URLSearchParams();
        for (const p of op.parameters ?? []) {
          if (p.in === 'path') url = url.replace(`{${p.name}}`, valueFor(p));
          else if (p.in === 'query' && p.required) query.set(p.name, valueFor(p));
        }
        const full = `${base}${url}${query.size ? `?${query}` : ''}`;
        const res = await fetch(full);
        expect(res.status, `GET ${full}`).toBeLessThan(500);
        expect([200, 404], `GET ${full} → ${res.status} ${await res.clone().text()}`).toContain(res.status);
        if (!(res.headers.get('content-type') ?? '').includes('json')) continue; // /metrics: text
        const body = (await res.json()) as Record<string, unknown>;
        if (res.status === 404) expect(body, `404 of ${full} has the error shape`).toEqual(ERROR_SHAPE);
        else expectOneEncoding(body, `GET ${full}`);
        if ((op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'cursor'))
          await expectPaged(full, op);
      }
    },
  );

  it.each(AVAILABLE_SERVICES.map((s) => [s]))(
    '%s: the OpenAPI validates, and every operation has an id, a tag, a success and an error schema',
    async (name) => {
      const base = keeper.urls[name]!.http;
      const doc = (await (await fetch(`${base}/docs/json`)).json()) as OpenApiDoc;
      const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
      expect(result.errors ?? [], `${name} OpenAPI`).toEqual([]);
      expect(result.valid).toBe(true);
      const ids = new Set<string>();
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const where = `${name} ${method.toUpperCase()} ${path}`;
          expect(op.operationId, `${where} operationId`).toEqual(expect.any(String));
          expect(ids.has(op.operationId!), `${where} operationId unique`).toBe(false);
          ids.add(op.operationId!);
          expect(op.tags?.length, `${where} tags`).toBeGreaterThan(0);
          const ok = Object.entries(op.responses ?? {}).find(([code]) => code.startsWith('2'));
          expect(ok, `${where} documents its success`).toBeDefined();
          expect(Object.values(ok![1].content ?? {})[0]?.schema, `${where} success schema`).toBeDefined();
          expect(op.responses?.['4XX'], `${where} documents its errors`).toBeDefined();
          if (path.includes('/admin/')) expect(op.security, `${where} declares its security`).toBeDefined();
        }
      }
    },
  );

  it.each(AVAILABLE_SERVICES.map((s) => [s]))(
    '%s: unknown routes, malformed parameters and missing tokens all answer the one error shape',
    async (name) => {
      const base = keeper.urls[name]!.http;
      const unknown = await fetch(`${base}/v1/no-such-route`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({ ...ERROR_SHAPE, code: 'ROUTE_NOT_FOUND', kind: 'not_found' });
      const doc = (await (await fetch(`${base}/docs/json`)).json()) as OpenApiDoc;
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const params = (op.parameters ?? []).filter((p) => p.in === 'path');
          if (op.security) {
            const url = path.replace(/\{[^}]+\}/g, (m) => valueFor({ name: m.slice(1, -1), in: 'path' }));
            const res = await fetch(`${base}${url}`, { method: method.toUpperCase() });
            expect(await res.json(), `${method} ${url} without a token`).toEqual(ERROR_SHAPE);
            continue;
          }
          if (method !== 'get' || params.length === 0) continue;
          // Every path parameter at once given a value no schema admits.
          const url = path.replace(/\{[^}]+\}/g, 'not-a-valid-value-%7E%7E');
          const res = await fetch(`${base}${url}`);
          expect(res.status, `GET ${url} on ${name}`).toBeGreaterThanOrEqual(400);
          expect(res.status, `GET ${url} on ${name}`).toBeLessThan(500);
          expect(await res.json(), `GET ${url} on ${name}`).toEqual(ERROR_SHAPE);
        }
      }
    },
  );

  it('coordinator: the schedule of a provider being paid, whatever the case of its addresses; limit=0 refused', async () => {
    const base = keeper.urls['consensus-coordinator']!.http;
    const lower = (a: string) => a.toLowerCase();
    const upper = (a: string) => `0x${a.slice(2).toUpperCase()}`;
    for (const form of [(a: string) => a, lower, upper]) {
      const res = await fetch(`${base}/v1/schedule/${form(chain.user)}/${form(provider.pid)}`);
      expect(res.status, `schedule with ${form(chain.user)}`).toBe(200);
      const body = (await res.json()) as { user: string; pid: string; windows: unknown[] };
      expect(body.user).toBe(getAddress(chain.user));
      expect(body.pid).toBe(getAddress(provider.pid));
      expect(body.windows).toHaveLength(1);
    }
    const zero = await fetch(`${base}/v1/rounds?limit=0`);
    expect(zero.status).toBe(400);
    expect(await zero.json()).toEqual({ ...ERROR_SHAPE, code: 'BAD_REQUEST', kind: 'invalid_argument' });
  });

  it('admin endpoints refuse callers without the bearer token', async () => {
    for (const name of AVAILABLE_SERVICES) {
      const base = keeper.urls[name]!.http;
      const doc = (await (await fetch(`${base}/docs/json`)).json()) as OpenApiDoc;
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          if (!op.security) continue;
          const url = path.replace(/\{[^}]+\}/g, (m) => valueFor({ name: m.slice(1, -1), in: 'path' }));
          const res = await fetch(`${base}${url}`, { method: method.toUpperCase() });
          expect([401, 403], `${method} ${url} on ${name}`).toContain(res.status);
        }
      }
    }
  });
});
