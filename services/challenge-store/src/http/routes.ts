import type {} from '@fastify/swagger';
import {
  addressSchema as address,
  blockNumberSchema,
  cursorCodec,
  pageOf,
  pageQuerySchema,
  pageResponseSchema,
  uintStringSchema,
} from '@whitepay/base';
import { listAccounts, listPieces, type Pool, toHex } from '@whitepay/store';
import type { FastifyInstance } from 'fastify';
import { getAddress } from 'viem';
import { RecordRejected } from '../errors.js';
import { recordCursor } from '../grpc/paging.js';
import { queryRecords, type Source } from '../queries.js';

/** Addresses leave every service in one encoding: EIP-55 checksummed. */
const checksum = (bytes: Uint8Array): string => getAddress(toHex(bytes));

/** A block number in a query (bounded to Postgres' int8). */
const block = { ...blockNumberSchema, pattern: '^[0-9]{1,19}$' } as const;
const uint = uintStringSchema;

/** Accounts page by (user, pid), the order `listAccounts` keeps. */
const accountCursor = cursorCodec<{ user: Uint8Array; pid: Uint8Array }>({
  toParts: (k) => [toHex(k.user), toHex(k.pid)],
  fromParts: ([user, pid, ...rest]) =>
    rest.length === 0 && /^0x[0-9a-f]{40}$/.test(user ?? '') && /^0x[0-9a-f]{40}$/.test(pid ?? '')
      ? { user: bytesOf(user!), pid: bytesOf(pid!) }
      : undefined,
});
const hex = { type: 'string', pattern: '^0x[0-9a-f]*$' } as const;

const recordSchema = {
  type: 'object',
  properties: {
    user: hex,
    pid: hex,
    keeperId: { type: 'integer' },
    block: blockNumberSchema,
    blockHash: hex,
    space: uint,
    verdict: { type: 'integer', description: 'challenge.v1.Verdict' },
    proof: {
      anyOf: [hex, { type: 'null' }],
      description: 'encoded ChallengeProof; null when compacted or omitted',
    },
    observedAtMs: { type: 'integer' },
    signature: { ...hex, description: 'peer records only' },
  },
} as const;

function bytesOf(v: string): Uint8Array {
  return new Uint8Array(Buffer.from(v.slice(2), 'hex'));
}

/** Read endpoints for operators; bigints travel as decimal strings. */
export function registerRoutes(app: FastifyInstance, deps: { pool: Pool }): void {
  const { pool } = deps;
  app.get<{
    Params: { user: string; pid: string };
    Querystring: {
      from?: string;
      to?: string;
      limit?: number;
      cursor?: string;
      source?: Source;
      proofs?: boolean;
    };
  }>(
    '/v1/records/:user/:pid',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Challenge records of (user, pid) with from <= block < to, ordered by (block, keeper)',
        params: { type: 'object', properties: { user: address, pid: address }, required: ['user', 'pid'] },
        querystring: {
          type: 'object',
          properties: {
            from: { ...block, default: '0' },
            to: { ...block, default: '9223372036854775807' },
            ...pageQuerySchema({ max: 10000, default: 1000 }),
            source: { type: 'string', enum: ['own', 'peer', 'all'], default: 'own' },
            proofs: { type: 'boolean', default: false },
          },
        },
        response: { 200: pageResponseSchema('records', recordSchema) },
      },
    },
    async (req) => {
      const q = req.query;
      const after = recordCursor.decode(q.cursor);
      const from = BigInt(q.from ?? '0');
      const to = BigInt(q.to ?? '9223372036854775807');
      if (to > 9223372036854775807n) throw new RecordRejected('BAD_RANGE', 'to out of range');
      const page = await queryRecords(pool, q.source ?? 'own', {
        user: bytesOf(req.params.user),
        pid: bytesOf(req.params.pid),
        from,
        to,
        limit: q.limit ?? 1000,
        withProofs: q.proofs ?? false,
        ...(after ? { after } : {}),
      });
      return {
        records: page.records.map((r) => ({
          user: checksum(r.user),
          pid: checksum(r.pid),
          keeperId: r.keeperId,
          block: r.block.toString(),
          blockHash: toHex(r.blockHash),
          space: r.space.toString(),
          verdict: r.verdict,
          proof: r.proof ? toHex(r.proof) : null,
          observedAtMs: r.observedAtMs,
          ...(r.signature ? { signature: toHex(r.signature) } : {}),
        })),
        ...(page.next ? { next: recordCursor.encode(page.next) } : {}),
      };
    },
  );

  app.get<{
    Params: { user: string; pid: string };
    Querystring: { atBlock?: string; includeRemoved?: boolean };
  }>(
    '/v1/pieces/:user/:pid',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Pieces registered for (user, pid): live ones, those counting at a block, or all',
        params: { type: 'object', properties: { user: address, pid: address }, required: ['user', 'pid'] },
        querystring: {
          type: 'object',
          properties: { atBlock: block, includeRemoved: { type: 'boolean', default: false } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              pieces: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    pieceId: hex,
                    size: uint,
                    root: hex,
                    leafSize: { type: 'integer' },
                    addedBlock: blockNumberSchema,
                    removedBlock: { anyOf: [blockNumberSchema, { type: 'null' }] },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const pieces = await listPieces(pool, bytesOf(req.params.user), bytesOf(req.params.pid), {
        ...(req.query.atBlock !== undefined ? { atBlock: BigInt(req.query.atBlock) } : {}),
        includeRemoved: req.query.includeRemoved ?? false,
      });
      return {
        pieces: pieces.map((p) => ({
          pieceId: toHex(p.pieceId),
          size: p.size.toString(),
          root: toHex(p.root),
          leafSize: p.leafSize,
          addedBlock: p.addedBlock.toString(),
          removedBlock: p.removedBlock === null ? null : p.removedBlock.toString(),
        })),
      };
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/accounts',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Every (user, pid) with at least one live piece, ordered by (user, pid), paged',
        querystring: { type: 'object', properties: pageQuerySchema({ max: 10000, default: 1000 }) },
        response: {
          200: pageResponseSchema('accounts', {
            type: 'object',
            properties: { user: hex, pid: hex, pieces: { type: 'integer' }, size: uint },
          }),
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 1000;
      const after = accountCursor.decode(req.query.cursor);
      const page = pageOf(
        await listAccounts(pool, { limit: limit + 1, ...(after ? { after } : {}) }),
        limit,
        (a) => ({ user: a.user, pid: a.pid }),
        accountCursor,
      );
      return {
        accounts: page.items.map((a) => ({
          user: checksum(a.user),
          pid: checksum(a.pid),
          pieces: a.pieces,
          size: a.size.toString(),
        })),
        ...(page.next ? { next: page.next } : {}),
      };
    },
  );
}
