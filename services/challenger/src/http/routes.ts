import type {} from '@fastify/swagger';
import { blockNumberSchema, decimal } from '@whitepay/base';
import type { FastifyInstance } from 'fastify';

export interface ChallengerStatus {
  keeperId: number;
  namespace: string;
  replica: string;
  /** The last block this replica fanned out and how many tasks it gave (pairs due at it). */
  lastBlock: { number: number; hash: string; tasks: number } | null;
  blocksFannedOut: number;
  recordsPublished: number;
  peerBroadcast: boolean;
}

/** Read endpoints of the challenger. */
export function registerRoutes(
  app: FastifyInstance,
  deps: { status: () => ChallengerStatus; providers: Readonly<Record<string, string>> },
): void {
  app.get(
    '/v1/status',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'What this replica has done since it started',
        response: {
          200: {
            type: 'object',
            properties: {
              keeperId: { type: 'integer' },
              namespace: { type: 'string' },
              replica: { type: 'string' },
              lastBlock: {
                type: ['object', 'null'],
                properties: {
                  number: blockNumberSchema,
                  hash: { type: 'string' },
                  tasks: { type: 'integer' },
                },
              },
              blocksFannedOut: { type: 'integer' },
              recordsPublished: { type: 'integer' },
              peerBroadcast: { type: 'boolean' },
            },
          },
        },
      },
    },
    async () => {
      const st = deps.status();
      return {
        ...st,
        lastBlock: st.lastBlock ? { ...st.lastBlock, number: decimal(st.lastBlock.number) } : null,
      };
    },
  );
  app.get(
    '/v1/providers',
    {
      onRequest: app.requireRead,
      schema: {
        summary: 'Configured provider gRPC addresses by pid',
        response: {
          200: {
            type: 'object',
            properties: { providers: { type: 'object', additionalProperties: { type: 'string' } } },
          },
        },
      },
    },
    async () => ({ providers: deps.providers }),
  );
}
