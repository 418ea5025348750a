import type {} from '@fastify/swagger';
import {
  cursorCodec,
  decimal,
  pageOf,
  pageQuerySchema,
  pageResponseSchema,
  uintStringSchema,
  WhitePayError,
} from '@whitepay/base';
import type { FastifyInstance } from 'fastify';
import { getAddress, type Hex } from 'viem';
import type { FaultMode, Faults } from '../faults.js';
import type { PieceMeta, PieceStore } from '../store/pieces.js';

const ADDRESS = '^0x[0-9a-fA-F]{40}$';
const BYTES32 = '^0x[0-9a-fA-F]{64}$';

const pieceSchema = {
  type: 'object',
  properties: {
    pid: { type: 'string' },
    user: { type: 'string' },
    pieceId: { type: 'string' },
    size: { ...uintStringSchema, description: 'bytes, decimal string' },
    root: { type: 'string' },
    leafSize: { type: 'integer' },
    leafCount: { type: 'integer' },
    storedAtMs: { type: 'integer' },
  },
} as const;

const faultSchema = {
  type: 'object',
  properties: { mode: { type: 'string', enum: ['none', 'offline', 'slow'] }, delayMs: { type: 'integer' } },
} as const;

const pieceParams = {
  type: 'object',
  required: ['user', 'pieceId'],
  properties: { user: { type: 'string', pattern: ADDRESS }, pieceId: { type: 'string', pattern: BYTES32 } },
} as const;

const pidQuery = {
  type: 'object',
  properties: { pid: { type: 'string', pattern: ADDRESS } },
} as const;

/** Pieces page by (pid, user, pieceId), the order `PieceStore.list` keeps ('' for a piece stored without a pid). */
const pieceCursor = cursorCodec<{ pid: string; user: string; pieceId: string }>({
  toParts: (k) => [k.pid, k.user, k.pieceId],
  fromParts: ([pid, user, pieceId, ...rest]) =>
    rest.length === 0 &&
    /^(0x[0-9a-f]{40})?$/.test(pid ?? '-') &&
    /^0x[0-9a-f]{40}$/.test(user ?? '') &&
    /^0x[0-9a-f]{64}$/.test(pieceId ?? '')
      ? { pid: pid!, user: user!, pieceId: pieceId! }
      : undefined,
});
const sortKey = (k: { pid?: string | undefined; user: string; pieceId: string }) =>
  `${k.pid ?? ''}/${k.user}/${k.pieceId}`;
/** A piece in the one encoding: addresses EIP-55, the size a decimal string. */
const pieceJson = (m: PieceMeta) => ({
  ...m,
  user: getAddress(m.user),
  ...(m.pid ? { pid: getAddress(m.pid) } : {}),
  size: decimal(m.size),
});

const lower = (s: string) => s.toLowerCase() as Hex;
const lowerOpt = (s: string | undefined) => (s ? lower(s) : undefined);

/** Read endpoints (pieces, faults) and the admin fault controls. */
export function registerRoutes(app: FastifyInstance, deps: { store: PieceStore; faults: Faults }): void {
  app.get<{ Querystring: { user?: string; pid?: string; limit?: number; cursor?: string } }>(
    '/v1/pieces',
    {
      onRequest: app.requireRead,
      schema: {
        summary:
          'Pieces held, ordered by (pid, user, pieceId), paged; optionally for one user (with pid: those a challenge naming pid is answered from)',
        querystring: {
          type: 'object',
          properties: {
            user: { type: 'string', pattern: ADDRESS },
            pid: { type: 'string', pattern: ADDRESS },
            ...pageQuerySchema({ max: 1000, default: 1000 }),
          },
        },
        response: {
          200: pageResponseSchema('pieces', pieceSchema, {
            total: {
              type: 'object',
              description: 'every piece held (not only this page)',
              properties: {
                pieces: { type: 'integer' },
                bytes: { ...uintStringSchema, description: 'bytes, decimal string' },
              },
            },
          }),
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 1000;
      const after = pieceCursor.decode(req.query.cursor);
      const afterKey = after ? sortKey(after) : undefined;
      const all = deps.store.list(lowerOpt(req.query.user), lowerOpt(req.query.pid));
      const rest = afterKey === undefined ? all : all.filter((m) => sortKey(m) > afterKey);
      const page = pageOf(
        rest.slice(0, limit + 1),
        limit,
        (m) => ({ pid: m.pid ?? '', user: m.user, pieceId: m.pieceId }),
        pieceCursor,
      );
      const total = deps.store.stats();
      return {
        pieces: page.items.map(pieceJson),
        total: { pieces: total.pieces, bytes: decimal(total.bytes) },
        ...(page.next ? { next: page.next } : {}),
      };
    },
  );

  app.get<{ Querystring: { pid?: string } }>(
    '/v1/faults',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'The node-wide injected fault, or with pid the fault challenges naming that pid meet',
        querystring: pidQuery,
        response: { 200: faultSchema },
      },
    },
    async (req) => deps.faults.snapshot(lowerOpt(req.query.pid)),
  );

  app.put<{ Body: { mode: FaultMode; delayMs?: number; pid?: string } }>(
    '/v1/admin/faults',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary:
          'Injects a fault: offline refuses challenges, slow delays answers, none heals; with pid, for that provider account only',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['mode'],
          properties: {
            mode: { type: 'string', enum: ['none', 'offline', 'slow'] },
            delayMs: { type: 'integer', minimum: 0 },
            pid: { type: 'string', pattern: ADDRESS },
          },
        },
        response: { 200: faultSchema },
      },
    },
    async (req) => {
      const pid = lowerOpt(req.body.pid);
      deps.faults.set(req.body.mode, req.body.delayMs, pid);
      req.log.warn({ pid, faults: deps.faults.snapshot(pid) }, 'fault mode changed');
      return deps.faults.snapshot(pid);
    },
  );

  app.delete<{ Params: { pid: string } }>(
    '/v1/admin/faults/:pid',
    {
      onRequest: app.requireAdmin,
      schema: {
        summary: 'Drops the fault override of one provider account (it follows the node-wide fault again)',
        security: [{ bearer: [] }],
        params: {
          type: 'object',
          required: ['pid'],
          properties: { pid: { type: 'string', pattern: ADDRESS } },
        },
        response: { 200: faultSchema },
      },
    },
    async (req) => {
      const pid = lower(req.params.pid);
      if (!deps.faults.clear(pid)) {
        throw new WhitePayError('FAULT_NOT_FOUND', `no fault override for ${pid}`, { kind: 'not_found' });
      }
      req.log.warn({ pid }, 'fault override dropped');
      return deps.faults.snapshot(pid);
    },
  );

  const pieceAction = (action: 'lose' | 'corrupt', summary: string) =>
    app.post<{ Params: { user: string; pieceId: string }; Querystring: { pid?: string } }>(
      `/v1/admin/pieces/:user/:pieceId/${action}`,
      {
        onRequest: app.requireAdmin,
        schema: {
          summary: `${summary} (?pid=: the piece stored for that provider account)`,
          security: [{ bearer: [] }],
          params: pieceParams,
          querystring: pidQuery,
          response: { 200: pieceSchema },
        },
      },
      async (req) => {
        const user = lower(req.params.user);
        const pieceId = lower(req.params.pieceId);
        const pid = lowerOpt(req.query.pid);
        if (action === 'lose') return pieceJson(await deps.store.lose(user, pieceId, pid));
        if (action === 'corrupt') return pieceJson(await deps.store.corrupt(user, pieceId, pid));
        throw new WhitePayError('UNKNOWN_ACTION', action, { kind: 'invalid_argument' });
      },
    );
  pieceAction('lose', 'Deletes a piece (fault injection): its proofs go missing');
  pieceAction('corrupt', 'Flips one byte in every leaf of a piece (fault injection): its proofs fail');
}
