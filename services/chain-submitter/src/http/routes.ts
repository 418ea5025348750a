import type { FastifyInstance } from 'fastify';
import type { Follower } from '../chain/follower.js';

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

export interface RouteDeps {
  follower: Follower;
}

/** The chain-submitter's read endpoints (operator API, OpenAPI at /docs). */
export function registerRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.get(
    '/v1/head',
    {
      preHandler: app.requireRead,
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
}
