import type { Redis } from 'ioredis';

const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local id, tok = string.match(cur, '^(.*)|(%d+)$')
  if id == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(tok)
  end
  return -1
end
local tok = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. tok, 'PX', ARGV[2])
return tok
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * One active sender per keeper account, across replicas: a Redis key with a
 * TTL holding `<replica>|<fencing token>`. The token grows on every new
 * holder; every write of the outbox and of the nonce checks that the lock
 * still holds this exact value (see `Outbox`), so a replica that paused past
 * its TTL cannot write after another took over. Standby replicas retry and
 * take over once the key expires (or is released on a graceful stop).
 */
export class SenderLock {
  readonly key: string;
  private readonly fenceKey: string;
  private token: number | null = null;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    account: string,
    readonly replicaId: string,
    private readonly ttlMs: number,
  ) {
    this.key = `${prefix}:lock:${account.toLowerCase()}`;
    this.fenceKey = `${prefix}:fence:${account.toLowerCase()}`;
  }

  /** The lock value while held (what fenced writes compare against). */
  get value(): string | null {
    return this.token === null ? null : `${this.replicaId}|${this.token}`;
  }

  get fencingToken(): number | null {
    return this.token;
  }

  /** Acquires or renews; returns whether this replica holds the lock now. */
  async tryAcquire(): Promise<boolean> {
    const tok = (await this.redis.eval(
      ACQUIRE,
      2,
      this.key,
      this.fenceKey,
      this.replicaId,
      this.ttlMs,
    )) as number;
    this.token = tok > 0 ? tok : null;
    return this.token !== null;
  }

  async release(): Promise<void> {
    const v = this.value;
    this.token = null;
    if (v) await this.redis.eval(RELEASE, 1, this.key, v);
  }

  async holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}
