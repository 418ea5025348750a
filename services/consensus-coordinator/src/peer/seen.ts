import type { SeenSet } from '@whitepay/peer';
import type { Redis } from 'ioredis';
import { CoordinatorError } from '../errors.js';

/**
 * The envelopes this keeper accepted, in Redis until each expires
 * (`SET … NX PXAT <expiry>`): a replay is refused after a restart of the
 * coordinator and by every replica of it, and the set holds no more than the
 * envelopes of the last validity window. Without Redis nothing is accepted.
 */
export class RedisSeenSet implements SeenSet {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async claim(key: string, untilMs: bigint): Promise<boolean> {
    try {
      const set = await this.redis.set(`${this.prefix}:peer-seen:${key}`, '1', 'PXAT', Number(untilMs), 'NX');
      return set === 'OK';
    } catch (cause) {
      throw new CoordinatorError('COORD_REPLAY_STORE_UNAVAILABLE', 'the replay guard cannot reach Redis', {
        cause,
      });
    }
  }
}
