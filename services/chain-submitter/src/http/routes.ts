import type { FastifyInstance } from 'fastify';
import type { Discovery } from '../chain/discovery.js';
import type { Follower } from '../chain/follower.js';
import type { Outbox } from '../chain/outbox.js';
import type { Submitter } from '../chain/submitter.js';

const header = {
  type: 'object',
  properties: {
    number: { type: 'integer' },
    hash: { type: 'string' },
    parentHash: { type: 'string' },
    timestamp: { type: 'integer' },
  },
  required: ['number', 'hash', 'parentHash', 'timestamp'],
} as const;

const entry = {
  type: 'object',
  properties: {
    pid: { type: 'string' },
    ts: { type: 'string' },
    te: { type: 'string' },
    st: { type: 'string' },
  },
  required: ['pid', 'ts', 'te', 'st'],
} as const;

const outcome = {
  type: 'object',
  properties: {
    pid: { type: 'string' },
    ts: { type: 'string' },
    te: { type: 'string' },
    st: { type: 'string' },
    status: { type: 'string', enum: ['paid', 'skipped'] },
    tid: { type: 'string' },
    amount: { type: 'string' },
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
    amount: { type: ['string', 'null'] },
    txHash: { type: ['string', 'null'] },
    block: { type: ['integer', 'null'] },
    status: { type: 'string', enum: ['confirmed', 'reverted', 'rejected', 'failed'] },
    errorCode: { type: ['string', 'null'] },
    errorMessage: { type: 'string' },
    at: { type: 'integer' },
    entries: { type: 'array', items: outcome, description: 'once confirmed: every entry, paid or skipped' },
  },
  required: ['tid', 'upkeeping', 'size', 'status'],
} as const;

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
              head: { type: ['integer', 'null'] },
              lastPublished: { anyOf: [header, { type: 'null' }] },
              confirmations: { type: 'integer' },
              reorgs: { type: 'integer' },
            },
            required: ['head', 'lastPublished', 'confirmations', 'reorgs'],
          },
        },
      },
    },
    async () => d.follower.state(),
  );

  app.get(
    '/v1/upkeepings',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Upkeeping contracts discovered from the factory, with their keepers and providers',
        tags: ['discovery'],
        querystring: {
          type: 'object',
          properties: {
            all: { type: 'boolean', default: false, description: 'include those this keeper does not serve' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              enabled: { type: 'boolean' },
              scannedTo: { type: 'integer' },
              upkeepings: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    upkeeping: { type: 'string' },
                    user: { type: 'string' },
                    createdAt: { type: 'integer' },
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
                        properties: { pid: { type: 'string' }, addedAt: { type: 'integer' } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const all = (req.query as { all?: boolean }).all === true;
      const list = d.discovery?.list() ?? [];
      return {
        enabled: d.discovery !== null,
        scannedTo: d.discovery?.scannedTo ?? -1,
        upkeepings: all ? list : list.filter((u) => u.serving),
      };
    },
  );

  app.get(
    '/v1/payments',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Recent payment results (newest first), as published on <ns>.payments',
        tags: ['payments'],
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
        },
        response: { 200: { type: 'object', properties: { payments: { type: 'array', items: payment } } } },
      },
    },
    async (req) => {
      const limit = (req.query as { limit?: number }).limit ?? 50;
      return { payments: await d.outbox.recentResults(limit) };
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
