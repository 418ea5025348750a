import type {} from '@fastify/swagger';
import { WhitePayError } from '@whitepay/base';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import type { FaultMode, Faults } from '../faults.js';
import type { PieceMeta, PieceStore } from '../store/pieces.js';

const ADDRESS = '^0x[0-9a-fA-F]{40}$';
const BYTES32 = '^0x[0-9a-fA-F]{64}$';

const pieceSchema = {
  type: 'object',
  properties: {
    user: { type: 'string' },
    pieceId: { type: 'string' },
    size: { type: 'integer' },
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

const lower = (s: string) => s.toLowerCase() as Hex;

/** Read endpoints (pieces, faults) and the admin fault controls. */
export function registerRoutes(app: FastifyInstance, deps: { store: PieceStore; faults: Faults }): void {
  app.get<{ Querystring: { user?: string } }>(
    '/v1/pieces',
    {
      preHandler: app.requireRead,
      schema: {
        summary: 'Pieces held, optionally for one user',
        querystring: { type: 'object', properties: { user: { type: 'string', pattern: ADDRESS } } },
        response: {
          200: {
            type: 'object',
            properties: {
              pieces: { type: 'array', items: pieceSchema },
              total: {
                type: 'object',
                properties: { pieces: { type: 'integer' }, bytes: { type: 'integer' } },
              },
            },
          },
        },
      },
    },
    async (req) => ({
      pieces: deps.store.list(req.query.user ? lower(req.query.user) : undefined),
      total: deps.store.stats(),
    }),
  );

  app.get(
    '/v1/faults',
    {
      preHandler: app.requireRead,
      schema: { summary: 'The injected fault', response: { 200: faultSchema } },
    },
    async () => deps.faults.snapshot(),
  );

  app.put<{ Body: { mode: FaultMode; delayMs?: number } }>(
    '/v1/admin/faults',
    {
      preHandler: app.requireAdmin,
      schema: {
        summary: 'Injects a fault: offline refuses challenges, slow delays answers, none heals',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['mode'],
          properties: {
            mode: { type: 'string', enum: ['none', 'offline', 'slow'] },
            delayMs: { type: 'integer', minimum: 0 },
          },
        },
        response: { 200: faultSchema },
      },
    },
    async (req) => {
      deps.faults.set(req.body.mode, req.body.delayMs);
      req.log.warn({ faults: deps.faults.snapshot() }, 'fault mode changed');
      return deps.faults.snapshot();
    },
  );

  const pieceAction = (action: 'lose' | 'corrupt', summary: string) =>
    app.post<{ Params: { user: string; pieceId: string } }>(
      `/v1/admin/pieces/:user/:pieceId/${action}`,
      {
        preHandler: app.requireAdmin,
        schema: { summary, security: [{ bearer: [] }], params: pieceParams, response: { 200: pieceSchema } },
      },
      async (req): Promise<PieceMeta> => {
        const user = lower(req.params.user);
        const pieceId = lower(req.params.pieceId);
        if (action === 'lose') return deps.store.lose(user, pieceId);
        if (action === 'corrupt') return deps.store.corrupt(user, pieceId);
        throw new WhitePayError('UNKNOWN_ACTION', action, { kind: 'invalid_argument' });
      },
    );
  pieceAction('lose', 'Deletes a piece (fault injection): its proofs go missing');
  pieceAction('corrupt', 'Flips one byte in every leaf of a piece (fault injection): its proofs fail');
}
