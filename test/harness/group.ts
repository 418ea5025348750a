import type { Logger } from '@whitepay/base';
import type { Address, Hex } from 'viem';
import { type DeployedUpkeeping, type KeeperKeys, registerPieces } from './chain.js';
import { type KeeperHandle, type KeeperInfra, type KeeperOptions, startKeeper } from './keeper.js';
import type { StoredPiece } from './providers.js';

/** One provider's pieces, registered with every keeper of the group. */
export interface GroupPieces {
  pid: Address;
  pieces: readonly StoredPiece[];
  /** The block the provider was added at (the registration's block). */
  block: bigint;
}

/**
 * A group's keepers, one per key, each with the others as peers and the group's Upkeeping, started in key
 * order; each keeper's challenge-store gets every provider's pieces right after it starts (nonce i + 1 for
 * the i-th provider, one nonce per request of the user), before the next keeper starts. Start the
 * challenger and what follows it afterwards (`startService`) when every keeper must challenge from the
 * same first block.
 */
export async function startGroup(o: {
  infra: KeeperInfra;
  chain: Pick<DeployedUpkeeping, 'factory' | 'factoryBlock'>;
  keys: readonly KeeperKeys[];
  userKey: Hex;
  pieces: readonly GroupPieces[];
  /** Provider nodes to challenge: pid → gRPC `host:port`. */
  providers?: KeeperOptions['providers'];
  services?: KeeperOptions['services'];
  env?: KeeperOptions['env'];
  /** The log of a keeper (default: none). */
  log?: (keeperId: number) => Logger | undefined;
}): Promise<KeeperHandle[]> {
  const keepers: KeeperHandle[] = [];
  for (const k of o.keys) {
    const log = o.log?.(k.keeperId);
    const keeper = await startKeeper({
      keeperId: k.keeperId,
      infra: o.infra,
      accountKey: k.accountKey,
      blsSecretKey: k.blsSecretKey,
      upkeeping: { factory: o.chain.factory, fromBlock: o.chain.factoryBlock },
      peers: o.keys.filter((p) => p.keeperId !== k.keeperId),
      ...(o.providers ? { providers: o.providers } : {}),
      ...(o.services ? { services: o.services } : {}),
      ...(o.env ? { env: o.env } : {}),
      ...(log ? { log } : {}),
    });
    keepers.push(keeper);
    for (const [i, p] of o.pieces.entries())
      await registerPieces({
        storeGrpc: keeper.urls['challenge-store']!.grpc!,
        userKey: o.userKey,
        pid: p.pid,
        pieces: p.pieces,
        nonce: BigInt(i + 1),
        block: p.block,
      });
  }
  return keepers;
}
