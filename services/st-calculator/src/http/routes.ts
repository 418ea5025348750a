import type {} from '@fastify/swagger';
import { blockNumberSchema, uintStringSchema } from '@whitepay/base';
import type { FastifyInstance } from 'fastify';
import { getAddress } from 'viem';
import type { Calculator } from '../calculator.js';
import { StQueryRejected } from '../errors.js';

/** Any hex: the length is checked by the calculator, so a short address is a typed ST_ADDRESS_LENGTH. */
const address = {
  type: 'string',
  pattern: '^0x[0-9a-fA-F]*$',
  description: '20-byte address, 0x-hex',
} as const;
/** Block numbers (ts, te, from, to, carryBlock) and counts of blocks, decimal strings (docs/api.md). */
const uint = blockNumberSchema;
function bytesOf(name: string, v: string): Uint8Array {
  if (v.length % 2 !== 0)
    throw new StQueryRejected('ST_ADDRESS_LENGTH', `${name} must be a 20-byte address`, { field: name });
  return new Uint8Array(Buffer.from(v.slice(2), 'hex'));
}

function keeperList(v: string | undefined): number[] {
  if (!v) return [];
  if (!/^\d{1,10}(,\d{1,10})*$/.test(v))
    throw new StQueryRejected('ST_KEEPERS_INVALID', 'keepers must be id[,id…]', { keepers: v });
  return v.split(',').map(Number);
}

/** Operator read endpoints; bigints travel as decimal strings. */
export function registerRoutes(app: FastifyInstance, deps: { calculator: Calculator }): void {
  const { calculator } = deps;
  const params = { type: 'object', properties: { user: address, pid: address }, required: ['user', 'pid'] };

  app.get<{
    Params: { user: string; pid: string };
    Querystring: { ts: string; te: string; includePeers?: boolean };
  }>(
    '/v1/st/:user/:pid',
    {
      onRequest: app.requireRead,
      schema: {
        summary: "st of (user, pid) over [ts, te): this keeper's own records, or the union with includePeers",
        params,
        querystring: {
          type: 'object',
          properties: { ts: uint, te: uint, includePeers: { type: 'boolean', default: false } },
          required: ['ts', 'te'],
        },
        response: {
          200: {
            type: 'object',
            properties: {
              user: { type: 'string' },
              pid: { type: 'string' },
              ts: uint,
              te: uint,
              includePeers: { type: 'boolean' },
              st: { ...uintStringSchema, description: 'byte·blocks, exact' },
              recordsUsed: { type: 'integer' },
              carryBlock: { anyOf: [uint, { type: 'null' }] },
              maxStaleness: uint,
              engine: { type: 'string', enum: ['sql', 'core'] },
            },
          },
        },
      },
    },
    async (req) => {
      const { user, pid } = req.params;
      const q = req.query;
      const res = await calculator.computeSt(
        {
          user: bytesOf('user', user),
          pid: bytesOf('pid', pid),
          ts: BigInt(q.ts),
          te: BigInt(q.te),
          includePeers: q.includePeers ?? false,
        },
        { client: req.ip },
      );
      return {
        user: getAddress(user),
        pid: getAddress(pid),
        ts: q.ts,
        te: q.te,
        includePeers: q.includePeers ?? false,
        st: res.st.toString(),
        recordsUsed: res.records,
        carryBlock: res.carryBlock === undefined ? null : res.carryBlock.toString(),
        maxStaleness: res.maxStaleness.toString(),
        engine: res.engine,
      };
    },
  );

  app.get<{
    Params: { user: string; pid: string };
    Querystring: { from: string; to: string; keepers?: string };
  }>(
    '/v1/audit/:user/:pid',
    {
      onRequest: app.requireRead,
      schema: {
        summary:
          'The group as this keeper sees it over [from, to): per keeper its records, verified ones, st, idle',
        params,
        querystring: {
          type: 'object',
          properties: {
            from: uint,
            to: uint,
            keepers: { type: 'string', description: 'extra keeper ids to report, comma-separated' },
          },
          required: ['from', 'to'],
        },
        response: {
          200: {
            type: 'object',
            properties: {
              from: uint,
              to: uint,
              maxStaleness: uint,
              keepers: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    keeperId: { type: 'integer' },
                    own: { type: 'boolean' },
                    records: { type: 'integer' },
                    verified: { type: 'integer' },
                    st: uintStringSchema,
                    idle: { type: 'boolean' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const res = await calculator.auditGroup(
        {
          user: bytesOf('user', req.params.user),
          pid: bytesOf('pid', req.params.pid),
          from: BigInt(q.from),
          to: BigInt(q.to),
          keeperIds: keeperList(q.keepers),
        },
        { client: req.ip },
      );
      return {
        from: q.from,
        to: q.to,
        maxStaleness: res.maxStaleness.toString(),
        keepers: res.keepers.map((k) => ({ ...k, st: k.st.toString() })),
      };
    },
  );
}
