import { closeSync, openSync } from 'node:fs';

/**
 * A bounded LRU of open read-only file descriptors, so that answering a
 * challenge costs positioned reads only (no open/close per request) while a
 * node holding many thousands of pieces keeps at most `max` files open.
 *
 * Reads through these descriptors are synchronous (`readSync`): a 32-byte
 * node or one leaf from the page cache costs microseconds, less than a
 * thread-pool round trip. Synchronous use also makes eviction safe: no read
 * is ever in flight on a descriptor when it is closed.
 */
export class FdCache {
  private readonly fds = new Map<string, number>();

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max open files must be >= 1, got ${max}`);
  }

  /** The descriptor of `path`, opened read-only on first use (most recently used afterwards). */
  get(path: string): number {
    const fd = this.fds.get(path);
    if (fd !== undefined) {
      this.fds.delete(path);
      this.fds.set(path, fd);
      return fd;
    }
    while (this.fds.size >= this.max) {
      const oldest = this.fds.entries().next().value;
      if (!oldest) break;
      this.fds.delete(oldest[0]);
      closeSync(oldest[1]);
    }
    const opened = openSync(path, 'r');
    this.fds.set(path, opened);
    return opened;
  }

  /** Closes the descriptors of paths starting with `prefix` (a piece being deleted). */
  forget(prefix: string): void {
    for (const [path, fd] of this.fds) {
      if (path.startsWith(prefix)) {
        this.fds.delete(path);
        closeSync(fd);
      }
    }
  }

  get size(): number {
    return this.fds.size;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}
