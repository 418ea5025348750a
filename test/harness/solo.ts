import {
  anvilKey,
  type DeployedUpkeeping,
  deployUpkeeping,
  type KeeperKeys,
  keeperKeys,
  registerPieces,
} from './chain.js';
import { type Infra, startInfra } from './infra.js';
import { type KeeperHandle, type KeeperOptions, startKeeper } from './keeper.js';
import { type ProviderHandle, startProviders } from './providers.js';

/** One keeper with all its services, one provider with one 8 KiB piece registered, on a fresh infra. */
export interface SoloKeeper {
  infra: Infra;
  chain: DeployedUpkeeping;
  keeper: KeeperHandle;
  provider: ProviderHandle;
  keys: KeeperKeys;
  stop(): Promise<void>;
}

/**
 * The group of one the operator-facing suites (endpoints, Prometheus, CORS
 * page) run against: anvil at 1 s blocks, the Upkeeping deployed with this
 * keeper and the provider, the provider's piece registered at its add block.
 */
export async function startSoloKeeper(opts: { env?: KeeperOptions['env'] } = {}): Promise<SoloKeeper> {
  const keys = keeperKeys(1, anvilKey(1));
  const infra = await startInfra({ blockTime: 1 });
  const [provider] = (await startProviders(1)) as [ProviderHandle];
  const chain = await deployUpkeeping({
    rpcUrl: infra.anvil.rpcUrl,
    chainId: infra.anvil.chainId,
    userKey: anvilKey(0),
    keepers: [keys],
    providers: [provider.pid],
  });
  const keeper = await startKeeper({
    keeperId: keys.keeperId,
    infra: infra.endpoints,
    accountKey: keys.accountKey,
    blsSecretKey: keys.blsSecretKey,
    upkeeping: { factory: chain.factory, fromBlock: chain.factoryBlock },
    providers: { [provider.pid]: provider.grpcAddress },
    ...(opts.env ? { env: opts.env } : {}),
  });
  await registerPieces({
    storeGrpc: keeper.urls['challenge-store']!.grpc!,
    userKey: anvilKey(0),
    pid: provider.pid,
    pieces: await provider.put(chain.user, [8192]),
    nonce: 1n,
    block: chain.providersAddedAt[provider.pid]!,
  });
  return {
    infra,
    chain,
    keeper,
    provider,
    keys,
    async stop() {
      await keeper.stop();
      await provider.stop();
      await infra.stop();
    },
  };
}
