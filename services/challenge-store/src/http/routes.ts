import type {} from '@fastify/swagger';
import { listAccounts, listPieces, type Pool, toHex } from '@whitepay/store';
import { getAddress } from 'viem';

/** Addresses leave every service in one encoding: EIP-55 checksummed. */
const checksum = (bytes: Uint8Array): string => getAddress(toHex(bytes));

import type { FastifyInstance } from 'fastify';
import { RecordRejected } from '../errors.js';
import { decodePageToken, encodePageToken } from '../grpc/paging.js';
import { queryRecords, type Source } from '../queries.js';

const address = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' } as const;
const uint = { type: 'string', pattern: '^[0-9]{1,19}$', description: 'decimal integer' } as const;
const hex = { type: 'string', pattern: '^0x[0-9a-f]*$' } as const;

const recordSchema = {
  type: 'object',
  properties: {
    user: hex,
    pid: hex,
    keeperId: { type: 'integer' },
    block: uint,
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
            from: { ...uint, default: '0' },
            to: { ...uint, default: '9223372036854775807' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
            cursor: { type: 'string', description: 'the `next` of the previous page' },
            source: { type: 'string', enum: ['own', 'peer', 'all'], default: 'own' },
            proofs: { type: 'boolean', default: false },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              records: { type: 'array', items: recordSchema },
              next: { anyOf: [{ type: 'string' }, { type: 'null' }] },
            },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const after = decodePageToken(q.cursor ?? '');
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
        next: page.next ? encodePageToken(page.next) : null,
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
          properties: { atBlock: uint, includeRemoved: { type: 'boolean', default: false } },
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
                    addedBlock: uint,
                    removedBlock: { anyOf: [uint, { type: 'null' }] },
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

  app.get(
    '/v1/accounts',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Every (user, pid) with at least one live piece',
        response: {
          200: {
            type: 'object',
            properties: {
              accounts: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { user: hex, pid: hex, pieces: { type: 'integer' }, size: uint },
                },
              },
            },
          },
        },
      },
    },
    async () => ({
      accounts: (await listAccounts(pool)).map((a) => ({
        user: checksum(a.user),
        pid: checksum(a.pid),
        pieces: a.pieces,
        size: a.size.toString(),
      })),
    }),
  );
}
