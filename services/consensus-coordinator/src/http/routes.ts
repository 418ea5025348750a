import type {} from '@fastify/swagger';
import {
  blockNumberSchema,
  cursorCodec,
  pageOf,
  pageQuerySchema,
  pageResponseSchema,
  uintStringSchema,
  weiSchema,
} from '@whitepay/base';
import { leaderAt, rankKeepers, windowOf } from '@whitepay/core';
import type { FastifyInstance } from 'fastify';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import type { ChainView } from '../chain/view.js';
import { CoordinatorError } from '../errors.js';
import { FAULT_GRAMMAR, type Fault, formatFault, parseFault } from '../faults.js';
import { type IdleKey, type IdleLog, idleKeyOf } from '../round/idle-log.js';
import type { RoundKey, RoundRecord, RoundStore } from '../round/store.js';

export interface RouteDeps {
  store: RoundStore;
  chain: ChainView;
  idle: IdleLog;
}

/** bigints as decimal strings, for JSON answers. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

function summary(r: RoundRecord) {
  return plain({
    tid: r.info.tid,
    upkeeping: r.info.upkeeping,
    user: r.info.user,
    leaderId: r.info.leaderId,
    r: r.info.r,
    items: r.state.config.items,
    phase: r.state.phase,
    attempt: r.state.attempt,
    proposal: r.state.proposal,
    sts: r.state.proposedSts,
    synced: r.synced,
    outcome: r.outcome,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt ?? null,
    txHash: r.txHash ?? null,
    amount: r.amount ?? null,
    entries: r.entries ?? null,
    error: r.error ?? null,
    idle: r.idle ?? null,
  });
}

const hex = { type: 'string', pattern: '^0x[0-9a-fA-F]*$' } as const;
const decimal = uintStringSchema;

/** Rounds page by (startedAt, tid), newest first (`RoundStore.before`). */
const roundCursor = cursorCodec<RoundKey>({
  toParts: (k) => [k.startedAt, k.tid.toLowerCase()],
  fromParts: ([startedAt, tid, ...rest]) =>
    rest.length === 0 && /^\d{1,15}$/.test(startedAt ?? '') && /^0x[0-9a-f]{64}$/.test(tid ?? '')
      ? { startedAt: Number(startedAt), tid: tid as Hex }
      : undefined,
});
/** Idle notes page by (keeperId, upkeeping, pid) ascending (`IdleLog.page`). */
const idleCursor = cursorCodec<IdleKey>({
  toParts: (k) => [k.keeperId, k.upkeeping, k.pid],
  fromParts: ([keeper, upkeeping, pid, ...rest]) =>
    rest.length === 0 &&
    /^\d{1,10}$/.test(keeper ?? '') &&
    /^0x[0-9a-f]{40}$/.test(upkeeping ?? '') &&
    /^0x[0-9a-f]{40}$/.test(pid ?? '')
      ? { keeperId: Number(keeper), upkeeping: upkeeping!, pid: pid! }
      : undefined,
});
/** A round as /v1/rounds lists it (bigints as decimal strings, addresses EIP-55). */
const roundSummary = {
  type: 'object',
  additionalProperties: true,
  required: ['tid', 'upkeeping', 'user', 'leaderId', 'r', 'items', 'phase', 'outcome'],
  properties: {
    tid: { ...hex, description: 'round id (docs/encoding.md)' },
    upkeeping: hex,
    user: hex,
    leaderId: { type: 'integer' },
    r: { type: 'integer', description: "the leader's position" },
    items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: { pid: hex, ts: blockNumberSchema, te: blockNumberSchema },
      },
    },
    phase: { type: 'string' },
    attempt: { type: 'integer' },
    outcome: { type: 'string' },
    startedAt: { type: 'integer', description: 'ms since the epoch' },
    finishedAt: { type: ['integer', 'null'] },
    txHash: { type: ['string', 'null'] },
    amount: { anyOf: [weiSchema, { type: 'null' }], description: 'wei paid, once confirmed' },
  },
} as const;

function address(v: string, field: string): Address {
  if (!isAddress(v, { strict: false }))
    throw new CoordinatorError('COORD_INVALID_ARGUMENT', `${field} must be an address`);
  return getAddress(v);
}

/** Operator read endpoints. */
export function registerRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/rounds',
    {
      onRequest: app.requireRead,
      schema: {
        summary:
          'Rounds this keeper led, newest first, paged: entries, phase, outcome, every entry paid or skipped',
        querystring: { type: 'object', properties: pageQuerySchema({ max: 1000, default: 100 }) },
        response: { 200: pageResponseSchema('rounds', roundSummary) },
      },
    },
    async (req) => {
      // limit=0 used to answer every round: the schema holds it to [1, 1000].
      const limit = req.query.limit ?? 100;
      const before = roundCursor.decode(req.query.cursor);
      const page = pageOf(
        await d.store.before(limit + 1, before),
        limit,
        (r) => ({ startedAt: r.startedAt, tid: r.info.tid }),
        roundCursor,
      );
      return { rounds: page.items.map(summary), ...(page.next ? { next: page.next } : {}) };
    },
  );

  app.get<{ Querystring: { keeper?: number; limit?: number; cursor?: string } }>(
    '/v1/idle',
    {
      onRequest: app.requireRead,
      schema: {
        summary:
          'Idle keepers (SPEC 3 item 5: not paid their share): per keeper and provider, the latest interval a proposal this keeper answered counted it idle (and whether it signed); paged by (keeper, upkeeping, pid)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            keeper: { type: 'integer', minimum: 0, maximum: 4294967295 },
            ...pageQuerySchema({ max: 10000, default: 1000 }),
          },
        },
        response: {
          200: pageResponseSchema('idle', {
            type: 'object',
            required: ['keeperId', 'upkeeping', 'user', 'pid', 'ts', 'te', 'tid', 'at', 'signed'],
            properties: {
              keeperId: { type: 'integer' },
              upkeeping: hex,
              user: hex,
              pid: hex,
              ts: blockNumberSchema,
              te: blockNumberSchema,
              tid: { ...hex, description: 'the round that proposed it' },
              at: {
                type: 'integer',
                description: 'when this keeper answered the proposal, ms since the epoch',
              },
              signed: { type: 'boolean', description: 'whether this keeper signed it' },
            },
          }),
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 1000;
      const after = idleCursor.decode(req.query.cursor);
      const page = pageOf(
        await d.idle.page({
          limit: limit + 1,
          ...(req.query.keeper !== undefined ? { keeperId: req.query.keeper } : {}),
          ...(after ? { after } : {}),
        }),
        limit,
        idleKeyOf,
        idleCursor,
      );
      return { idle: page.items, ...(page.next ? { next: page.next } : {}) };
    },
  );

  app.get<{ Params: { tid: string } }>(
    '/v1/rounds/:tid',
    {
      onRequest: app.requireRead,
      schema: {
        summary: "One round: the leader reducer's whole state plus the outcome",
        params: { type: 'object', properties: { tid: hex } },
        response: {
          200: {
            ...roundSummary,
            required: [...roundSummary.required, 'state'],
            properties: { ...roundSummary.properties, state: { type: 'object', additionalProperties: true } },
          },
        },
      },
    },
    async (req) => {
      if (!/^0x[0-9a-fA-F]{64}$/.test(req.params.tid)) {
        throw new CoordinatorError('COORD_INVALID_ARGUMENT', 'tid must be 32 bytes of hex');
      }
      const r = await d.store.getRound(req.params.tid as Hex);
      if (!r) throw new CoordinatorError('ROUND_NOT_FOUND', `no round ${req.params.tid}`);
      return { ...(summary(r) as object), state: plain(r.state) };
    },
  );

  app.get<{ Params: { user: string; pid: string }; Querystring: { ts?: string } }>(
    '/v1/schedule/:user/:pid',
    {
      onRequest: app.requireRead,
      schema: {
        summary:
          'Leader schedule of (user, pid) from ts (default: the next payment`s ts): ranking, windows, leader now',
        querystring: { type: 'object', properties: { ts: blockNumberSchema } },
        response: {
          200: {
            type: 'object',
            required: ['upkeeping', 'user', 'pid', 'ts', 'H', 'T', 'head', 'leaderNow', 'windows'],
            properties: {
              upkeeping: hex,
              user: hex,
              pid: hex,
              ts: blockNumberSchema,
              H: decimal,
              T: decimal,
              head: blockNumberSchema,
              leaderNow: { type: ['object', 'null'], additionalProperties: true },
              windows: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: true,
                  properties: {
                    position: { type: 'integer' },
                    keeperId: { type: 'integer' },
                    start: blockNumberSchema,
                    end: blockNumberSchema,
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const user = address(req.params.user, 'user');
      const pid = address(req.params.pid, 'pid');
      const head = await d.chain.headBlock(250);
      const views = await d.chain.served(head);
      // Addresses compare by value, whatever their case on the chain view or in the request.
      const view = views.find((v) => v.user.toLowerCase() === user.toLowerCase());
      if (!view) throw new CoordinatorError('ROUND_NOT_FOUND', `no served Upkeeping of user ${user}`);
      const provider = view.providers.find((p) => p.pid.toLowerCase() === pid.toLowerCase());
      if (!provider && req.query.ts === undefined) {
        throw new CoordinatorError('ROUND_NOT_FOUND', `${pid} is not an active provider of ${user}`);
      }
      const ts = req.query.ts !== undefined ? BigInt(req.query.ts) : provider!.ts;
      const input = { user, pid, ts, keepers: view.members.map((m) => m.keeperId), H: view.H, T: view.T };
      const ranking = rankKeepers(input);
      return plain({
        upkeeping: view.upkeeping,
        user,
        pid,
        ts,
        H: view.H,
        T: view.T,
        head,
        leaderNow: leaderAt(input, head),
        windows: ranking.map((keeperId, i) => ({ position: i + 1, keeperId, ...windowOf(input, i + 1) })),
      });
    },
  );
}

/** TEST ONLY, registered only with `CONSENSUS_COORDINATOR_TEST_FAULTS=on`: read and switch the injected fault. */
export function registerFaultRoutes(
  app: FastifyInstance,
  d: { getFault: () => Fault; setFault: (f: Fault) => void },
): void {
  app.get('/v1/fault', { onRequest: app.requireRead, schema: { hide: true } }, async () => ({
    fault: formatFault(d.getFault()),
  }));

  app.put<{ Body: { fault: string } }>(
    '/v1/admin/fault',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: `TEST ONLY: switch fault injection (${FAULT_GRAMMAR})`,
        body: { type: 'object', required: ['fault'], properties: { fault: { type: 'string' } } },
        security: [{ bearer: [] }],
        response: {
          200: { type: 'object', required: ['fault'], properties: { fault: { type: 'string' } } },
        },
      },
    },
    async (req) => {
      const f = parseFault(req.body.fault);
      d.setFault(f);
      return { fault: formatFault(f) };
    },
  );
}
