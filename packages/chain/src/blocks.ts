import { WhitePayError } from '@whitepay/base';
import type { Hex, PublicClient } from 'viem';

/** What the chain says of a (number, hash) a record claims. */
export type BlockCheck = 'canonical' | 'future' | 'not_canonical';

export interface CanonicalBlocks {
  /**
   * `canonical` when block `number` of this node's chain has hash `hash`; `future` when the node has
   * no such block yet; `not_canonical` when it has another hash there (a forged or reorged-out block).
   * @throws WhitePayError `CHAIN_UNAVAILABLE` (unavailable) when the node cannot be asked.
   */
  check(number: bigint, hash: Hex): Promise<BlockCheck>;
}

export interface CanonicalBlocksOptions {
  /** Block hashes kept (most recently used), default 4,096. */
  cacheSize?: number;
}

/**
 * Block hashes of one node's canonical chain, asked once per block number
 * (`eth_getBlockByNumber`) and cached: a batch of records of the same few
 * blocks costs a call per distinct block, concurrent checks of one block share
 * the call. A hash that matches the cache is canonical; one that does not is
 * asked again before it is called not canonical, so a reorganisation since the
 * cached answer is seen. Unknown (future) blocks are never cached.
 */
export function canonicalBlocks(
  client: Pick<PublicClient, 'getBlock'>,
  opts: CanonicalBlocksOptions = {},
): CanonicalBlocks {
  const max = opts.cacheSize ?? 4096;
  const cache = new Map<bigint, Hex>();
  const inFlight = new Map<bigint, Promise<Hex | null>>();

  const fetchHash = (number: bigint): Promise<Hex | null> => {
    const running = inFlight.get(number);
    if (running) return running;
    const p = client
      .getBlock({ blockNumber: number, includeTransactions: false })
      .then(
        (b) => {
          const hash = (b.hash ?? null) as Hex | null;
          if (hash) {
            cache.delete(number);
            cache.set(number, hash);
            if (cache.size > max) cache.delete(cache.keys().next().value as bigint);
          }
          return hash;
        },
        (err: unknown) => {
          const name = (err as { name?: string }).name ?? '';
          if (name === 'BlockNotFoundError') return null;
          throw new WhitePayError(
            'CHAIN_UNAVAILABLE',
            `cannot read block ${number}: ${(err as Error).message}`,
            {
              kind: 'unavailable',
              cause: err,
            },
          );
        },
      )
      .finally(() => inFlight.delete(number));
    inFlight.set(number, p);
    return p;
  };

  return {
    async check(number, hash) {
      const want = hash.toLowerCase();
      const cached = cache.get(number);
      if (cached?.toLowerCase() === want) return 'canonical';
      const got = await fetchHash(number);
      if (got === null) return 'future';
      return got.toLowerCase() === want ? 'canonical' : 'not_canonical';
    },
  };
}
