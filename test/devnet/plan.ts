// The network plan of a keeper group, apart from how its processes run: the
// keys and accounts of N keepers and M providers, the chain set up for them
// (factory, the user's Upkeeping, keepers registered with proofs of
// possession), pieces stored and registered, providers added, and the Helm
// values each keeper's release needs. The local network runs the plan as
// supervised processes (devnet.ts); the rendered-chart test and the kind
// staging cluster (k8s/staging.sh, through plan-cli.ts) run it as Helm releases.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ensureProvider, readerFor, setupChain } from './chain.js';
import { registerPieces, storePieces } from './pieces.js';
import {
  type DevnetState,
  freshState,
  type KeeperState,
  keeperState,
  type ProviderState,
  providerState,
} from './state.js';

export interface PlanOptions {
  keepers: number;
  providers: number;
  blockTime: number;
  period: bigint;
  window: bigint;
  price: bigint;
}

/** A new plan: every key derived from a fresh seed; ports are unused outside the local network. */
export function newPlan(o: PlanOptions): DevnetState {
  const state = freshState({ ...o, basePort: 0 });
  for (let i = 0; i < o.keepers; i++) state.keepers.push(keeperState(state.seed, 0, i));
  for (let j = 0; j < o.providers; j++) state.providers.push(providerState(0, j));
  return state;
}

export function loadPlan(path: string): DevnetState {
  return JSON.parse(readFileSync(path, 'utf8')) as DevnetState;
}

export function savePlan(path: string, state: DevnetState): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** Factory, the user's funded Upkeeping, every keeper registered (idempotent: see `setupChain`). */
export async function setupPlanChain(
  rpcUrl: string,
  state: DevnetState,
  save: () => void,
  step: (s: string) => void,
): Promise<void> {
  await setupChain(rpcUrl, state, save, step);
}

/** Where the plan's parties are reached from the machine running the plan. */
export interface Reach {
  /** gRPC `host:port` of a provider's node. */
  provider(p: ProviderState): string;
  /** gRPC `host:port` of a keeper's challenge-store. */
  store(k: KeeperState): string;
}

/**
 * Stores one piece of each size in every provider's node and registers them (user-signed) with every
 * keeper's challenge-store; then adds every provider to the Upkeeping. Idempotent like the local network:
 * what is recorded in the state as done is not done again.
 */
export async function provisionProviders(
  rpcUrl: string,
  state: DevnetState,
  reach: Reach,
  sizes: readonly number[],
  save: () => void,
  step: (s: string) => void,
): Promise<void> {
  const reader = readerFor(rpcUrl, state.chain.chainId);
  for (const p of state.providers) {
    if (p.pieces.length === 0) {
      step(`storing ${sizes.length} pieces in ${p.name}`);
      p.pieces = await storePieces(state, p, sizes, await reader.getBlockNumber(), reach.provider(p));
      p.registeredWith = [];
      save();
    }
    for (const k of state.keepers) {
      if (p.registeredWith.includes(k.id)) continue;
      step(`registering the pieces of ${p.name} with keeper ${k.id}`);
      const nonce = BigInt(state.pieceNonce);
      state.pieceNonce = String(nonce + 1n);
      save();
      await registerPieces(state, k, p, p.pieces, nonce, reach.store(k));
      p.registeredWith.push(k.id);
      save();
    }
  }
  for (const p of state.providers) {
    step(`adding ${p.name} (${p.pid}) to the Upkeeping`);
    await ensureProvider(rpcUrl, state, p);
    save();
  }
}

/** How the keepers of a group reach each other and the providers, as addresses in the Helm values. */
export interface GroupAddresses {
  /** `host:port` of a keeper's consensus-coordinator gRPC as the other keepers reach it. */
  peer(k: KeeperState): string;
  /** The providers' gRPC addresses: `{pid, address}` (`pid: "*"` for a multi-tenant node). */
  providers: readonly { pid: string; address: string }[];
}

/** The group file every keeper's release takes (`-f group.yaml`): chain, members, providers. */
export function groupValues(state: DevnetState, at: GroupAddresses) {
  if (!state.chain.factory) throw new Error('the plan has no factory yet: set up the chain first');
  return {
    chain: {
      chainId: state.chain.chainId,
      factoryAddress: state.chain.factory,
      factoryFromBlock: Number(state.chain.factoryBlock ?? '0'),
    },
    group: {
      keepers: state.keepers.map((k) => ({ id: k.id, account: k.account, peerAddress: at.peer(k) })),
    },
    providers: at.providers.map((p) => ({ pid: p.pid, address: p.address })),
  };
}

/** The secrets of one keeper, as the chart's key Secret holds them. */
export function keeperSecrets(state: DevnetState, k: KeeperState) {
  return {
    'account-key': k.privateKey,
    'bls-secret-key': k.blsSecretKey,
    'admin-token': state.adminToken,
  };
}
