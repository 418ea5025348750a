import {
  blockNumberSchema,
  cursorCodec,
  decimal,
  pageOf,
  pageQuerySchema,
  pageResponseSchema,
  uintStringSchema,
  weiSchema,
} from '@whitepay/base';
import type { FastifyInstance } from 'fastify';
import { type Address, getAddress } from 'viem';
import type { DiscoveredUpkeeping, Discovery } from '../chain/discovery.js';
import type { Follower } from '../chain/follower.js';
import type { Outbox, PaymentResult } from '../chain/outbox.js';
import type { Submitter } from '../chain/submitter.js';

const header = {
  type: 'object',
  properties: {
    number: blockNumberSchema,
    hash: { type: 'string' },
    parentHash: { type: 'string' },
    timestamp: { type: 'integer', description: 'unix seconds' },
  },
  required: ['number', 'hash', 'parentHash', 'timestamp'],
} as const;

const entry = {
  type: 'object',
  properties: {
    pid: { type: 'string' },
    ts: blockNumberSchema,
    te: blockNumberSchema,
    st: uintStringSchema,
    /** The entry's idle set (bit i = member index i), decimal; absent when empty. */
    idle: uintStringSchema,
  },
  required: ['pid', 'ts', 'te', 'st'],
} as const;

const outcome = {
  type: 'object',
  properties: {
    pid: { type: 'string' },
    ts: blockNumberSchema,
    te: blockNumberSchema,
    st: uintStringSchema,
    status: { type: 'string', enum: ['paid', 'skipped'] },
    tid: { type: 'string' },
    amount: weiSchema,
    reason: { type: 'string' },
  },
  required: ['pid', 'ts', 'te', 'status'],
} as const;

const payment = {
  type: 'object',
  properties: {
    tid: { type: 'string', description: 'the batch id' },
    upkeeping: { type: 'string' },
    user: { type: 'string' },
    leaderId: { type: 'integer' },
    r: { type: 'integer' },
    size: { type: 'integer', description: 'entries in the batch' },
    amount: { anyOf: [weiSchema, { type: 'null' }], description: 'wei paid in total, once confirmed' },
    txHash: { type: ['string', 'null'] },
    block: { anyOf: [blockNumberSchema, { type: 'null' }] },
    status: { type: 'string', enum: ['confirmed', 'reverted', 'rejected', 'failed'] },
    errorCode: { type: ['string', 'null'] },
    errorMessage: { type: 'string' },
    at: { type: 'integer' },
    entries: { type: 'array', items: outcome, description: 'once confirmed: every entry, paid or skipped' },
  },
  required: ['tid', 'upkeeping', 'size', 'status'],
} as const;

/** Payments page by their sequence number, newest first (`Outbox.resultsBefore`). */
const paymentCursor = cursorCodec<number>({
  toParts: (seq) => [seq],
  fromParts: ([seq, ...rest]) =>
    rest.length === 0 && /^-?\d{1,15}$/.test(seq ?? '') ? Number(seq) : undefined,
});

/** Upkeepings page by (createdAt, address), oldest first. */
const upkeepingCursor = cursorCodec<{ createdAt: number; upkeeping: string }>({
  toParts: (k) => [k.createdAt, k.upkeeping.toLowerCase()],
  fromParts: ([createdAt, upkeeping, ...rest]) =>
    rest.length === 0 && /^\d{1,15}$/.test(createdAt ?? '') && /^0x[0-9a-f]{40}$/.test(upkeeping ?? '')
      ? { createdAt: Number(createdAt), upkeeping: upkeeping! }
      : undefined,
});

const byCreation = (a: DiscoveredUpkeeping, b: DiscoveredUpkeeping) =>
  a.createdAt - b.createdAt || (a.upkeeping.toLowerCase() < b.upkeeping.toLowerCase() ? -1 : 1);

/** A payment result as the API answers it (block numbers as decimal strings, docs/api.md). */
function paymentJson(p: PaymentResult) {
  return { ...p, block: p.block === null ? null : decimal(p.block) };
}

const checksum = (a: string): Address => getAddress(a);

export interface RouteDeps {
  follower: Follower;
  discovery: Discovery | null;
  outbox: Outbox;
  submitter: Submitter;
}

/** The chain-submitter's read endpoints (operator API, OpenAPI at /docs). */
export function registerRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.get(
    '/v1/head',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Chain head seen and last block published on <ns>.blocks',
        tags: ['chain'],
        response: {
          200: {
            type: 'object',
            properties: {
              head: { anyOf: [blockNumberSchema, { type: 'null' }] },
              lastPublished: { anyOf: [header, { type: 'null' }] },
              confirmations: { type: 'integer' },
              reorgs: { type: 'integer' },
            },
            required: ['head', 'lastPublished', 'confirmations', 'reorgs'],
          },
        },
      },
    },
    async () => {
      const st = d.follower.state();
      return {
        ...st,
        head: st.head === null ? null : decimal(st.head),
        lastPublished: st.lastPublished
          ? { ...st.lastPublished, number: decimal(st.lastPublished.number) }
          : null,
      };
    },
  );

  app.get(
    '/v1/upkeepings',
    {
      onRequest: app.requireRead,
      schema: {
        summary:
          'Upkeeping contracts discovered from the factory, oldest first, paged, with their keepers and providers',
        tags: ['discovery'],
        querystring: {
          type: 'object',
          properties: {
            all: { type: 'boolean', default: false, description: 'include those this keeper does not serve' },
            ...pageQuerySchema({ max: 1000, default: 100 }),
          },
        },
        response: {
          200: pageResponseSchema(
            'upkeepings',
            {
              type: 'object',
              properties: {
                upkeeping: { type: 'string' },
                user: { type: 'string' },
                createdAt: { ...blockNumberSchema, description: 'block of UpkeepingCreated' },
                serving: { type: 'boolean' },
                keepers: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: { keeperId: { type: 'integer' }, account: { type: 'string' } },
                  },
                },
                providers: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      pid: { type: 'string' },
                      addedAt: { ...blockNumberSchema, description: 'start block of the provider' },
                    },
                  },
                },
              },
            },
            {
              enabled: { type: 'boolean' },
              scannedTo: {
                anyOf: [blockNumberSchema, { type: 'null' }],
                description: 'last block scanned; null when discovery is off or has scanned nothing',
              },
            },
          ),
        },
      },
    },
    async (req) => {
      const q = req.query as { all?: boolean; limit?: number; cursor?: string };
      const limit = q.limit ?? 100;
      const after = upkeepingCursor.decode(q.cursor);
      const all = q.all === true;
      const list = (d.discovery?.list() ?? [])
        .filter((u) => all || u.serving)
        .sort(byCreation)
        .filter(
          (u) =>
            !after ||
            u.createdAt > after.createdAt ||
            (u.createdAt === after.createdAt && u.upkeeping.toLowerCase() > after.upkeeping),
        );
      const page = pageOf(list.slice(0, limit + 1), limit, (u) => u, upkeepingCursor);
      const scannedTo = d.discovery?.scannedTo ?? -1;
      return {
        enabled: d.discovery !== null,
        scannedTo: scannedTo < 0 ? null : decimal(scannedTo),
        upkeepings: page.items.map((u) => ({
          ...u,
          upkeeping: checksum(u.upkeeping),
          user: checksum(u.user),
          createdAt: decimal(u.createdAt),
          providers: u.providers.map((p) => ({ pid: checksum(p.pid), addedAt: decimal(p.addedAt) })),
        })),
        ...(page.next ? { next: page.next } : {}),
      };
    },
  );

  app.get(
    '/v1/payments',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Payment results (newest first, paged), as published on <ns>.payments',
        tags: ['payments'],
        querystring: { type: 'object', properties: pageQuerySchema({ max: 1000, default: 50 }) },
        response: { 200: pageResponseSchema('payments', payment) },
      },
    },
    async (req) => {
      const q = req.query as { limit?: number; cursor?: string };
      const limit = q.limit ?? 50;
      const before = paymentCursor.decode(q.cursor);
      const page = pageOf(
        await d.outbox.resultsBefore(limit + 1, before),
        limit,
        (r) => r.seq,
        paymentCursor,
      );
      return {
        payments: page.items.map((r) => paymentJson(r.result)),
        ...(page.next ? { next: page.next } : {}),
      };
    },
  );

  app.get(
    '/v1/outbox',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Submissions not final yet, and the sender lock',
        tags: ['payments'],
        response: {
          200: {
            type: 'object',
            properties: {
              account: { type: 'string' },
              holder: { type: 'boolean' },
              pending: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    tid: { type: 'string', description: 'the batch id' },
                    user: { type: 'string' },
                    upkeeping: { type: 'string' },
                    leaderId: { type: 'integer' },
                    r: { type: 'integer' },
                    entries: { type: 'array', items: entry },
                    state: { type: 'string' },
                    nonce: { type: ['integer', 'null'] },
                    txHashes: { type: 'array', items: { type: 'string' } },
                    createdAt: { type: 'integer' },
                    updatedAt: { type: 'integer' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => {
      const pending = await d.outbox.pending();
      return {
        account: d.submitter.account,
        holder: d.submitter.isHolder(),
        pending: pending.map((e) => ({
          tid: e.bid,
          user: e.user,
          upkeeping: e.request.upkeeping,
          leaderId: e.request.leaderId,
          r: e.request.r,
          entries: e.request.entries,
          state: e.state,
          nonce: e.nonce,
          txHashes: e.txs.map((t) => t.hash),
          createdAt: e.createdAt,
          updatedAt: e.updatedAt,
        })),
      };
    },
  );
}
