import type { Redis } from 'ioredis';
import type { BlockHeader } from './window.js';

/**
 * The follower's persistent cursor in Redis: the last published block and
 * the headers published before it (as many as the reorg window), so that a
 * restart resumes at the next block and can still detect a reorganisation
 * that happened while the service was down.
 */
export class CursorStore {
  private readonly headersKey: string;
  private readonly cursorKey: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly capacity: number,
  ) {
    this.headersKey = `${prefix}:blocks:headers`;
    this.cursorKey = `${prefix}:blocks:cursor`;
  }

  async load(): Promise<BlockHeader[]> {
    const raw = await this.redis.get(this.cursorKey);
    if (raw === null) return [];
    const tip = Number(raw);
    const from = Math.max(0, tip - this.capacity + 1);
    const fields: string[] = [];
    for (let n = from; n <= tip; n++) fields.push(String(n));
    const values = await this.redis.hmget(this.headersKey, ...fields);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as BlockHeader);
  }

  /** Records `h` as published (the new cursor) and forgets headers older than the window. */
  async published(h: BlockHeader): Promise<void> {
    const m = this.redis.multi();
    m.hset(this.headersKey, String(h.number), JSON.stringify(h));
    m.set(this.cursorKey, String(h.number));
    const old = h.number - this.capacity;
    if (old >= 0) m.hdel(this.headersKey, String(old));
    await m.exec();
  }

  /** After a reorganisation: the cursor goes back to the common ancestor. */
  async rewind(ancestor: BlockHeader | undefined, removed: readonly BlockHeader[]): Promise<void> {
    const m = this.redis.multi();
    if (removed.length > 0) m.hdel(this.headersKey, ...removed.map((h) => String(h.number)));
    if (ancestor) m.set(this.cursorKey, String(ancestor.number));
    else m.del(this.cursorKey);
    await m.exec();
  }
}
