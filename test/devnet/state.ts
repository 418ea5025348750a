import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  g1ToEip2537,
  g2ToEip2537,
  provePossession,
  publicKeyOf,
  secretKeyFromSeed,
  toHex,
} from '@whitepay/bls';
import { ANVIL_MNEMONIC } from '@whitepay/testkit';
import { type Address, concat, type Hex, hexToBytes, keccak256, stringToHex, toHex as viemHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import type { DevnetOptions } from './options.js';

/** The services of one keeper, in start order (the coordinator last: it needs the others). */
export const SERVICES = [
  'challenge-store',
  'st-calculator',
  'chain-submitter',
  'challenger',
  'consensus-coordinator',
] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Ports of one keeper's services. */
export interface KeeperPorts {
  challengerHttp: number;
  storeHttp: number;
  storeGrpc: number;
  stHttp: number;
  stGrpc: number;
  submitterHttp: number;
  coordinatorHttp: number;
  coordinatorGrpc: number;
}

export interface KeeperState {
  id: number;
  /** NATS namespace, Redis prefixes. */
  ns: string;
  database: string;
  account: Address;
  privateKey: Hex;
  blsSecretKey: Hex;
  /** EIP-2537 G1 public key and G2 proof of possession, as registered. */
  blsPublicKey: Hex;
  proofOfPossession: Hex;
  ports: KeeperPorts;
}

export interface PieceState {
  pieceId: Hex;
  size: number;
  root: Hex;
  leafSize: number;
  /** Block from which it counts. */
  block: string;
}

export interface ProviderState {
  index: number;
  name: string;
  pid: Address;
  grpcPort: number;
  httpPort: number;
  pieces: PieceState[];
  /** Keeper ids whose challenge-store has this provider's pieces registered. */
  registeredWith: number[];
  /** Block of addProvider (undefined until added). */
  addedAt?: string;
}

/** Everything a second start needs to resume: written to `<dataDir>/state.json`. */
export interface DevnetState {
  version: 1;
  createdAt: string;
  /** Seeds every BLS key of the network. */
  seed: Hex;
  /** Bearer token of every admin API (services, providers, the control API). */
  adminToken: string;
  ports: { nats: number; redis: number; postgres: number; anvil: number; control: number };
  chain: {
    chainId: number;
    blockTime: number;
    user: Address;
    userKey: Hex;
    factory?: Address;
    factoryBlock?: string;
    upkeeping?: Address;
    config: { price: string; period: string; window: string };
    funded?: boolean;
  };
  keepers: KeeperState[];
  providers: ProviderState[];
  /** Next nonce of the user's signed piece requests (single-use). */
  pieceNonce: string;
}

export interface Layout {
  root: string;
  state: string;
  control: string;
  logs: string;
  nats: string;
  redis: string;
  postgres: string;
  anvilState: string;
  provider(index: number): string;
}

export function layoutOf(dataDir: string): Layout {
  return {
    root: dataDir,
    state: join(dataDir, 'state.json'),
    control: join(dataDir, 'control.json'),
    logs: join(dataDir, 'logs'),
    nats: join(dataDir, 'nats'),
    redis: join(dataDir, 'redis'),
    postgres: join(dataDir, 'postgres'),
    anvilState: join(dataDir, 'anvil', 'state.json'),
    provider: (i) => join(dataDir, 'providers', `p${i}`),
  };
}

function privateKeyAt(index: number): Hex {
  const key = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (!key) throw new Error(`no private key at mnemonic index ${index}`);
  return viemHex(key);
}

function addressAt(index: number): Address {
  return mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index }).address;
}

/** Keeper i (0-based) has id i+1, namespace k<id>, mnemonic account i+1 (account 0 is the user). */
export function keeperState(seed: Hex, basePort: number, i: number): KeeperState {
  const id = i + 1;
  const blsSk = secretKeyFromSeed(hexToBytes(keccak256(concat([seed, stringToHex(`keeper/${id}`)]))));
  const p = basePort + 100 + i * 10;
  return {
    id,
    ns: `k${id}`,
    database: `keeper_${id}`,
    account: addressAt(id),
    privateKey: privateKeyAt(id),
    blsSecretKey: toHex(blsSk) as Hex,
    blsPublicKey: toHex(g1ToEip2537(publicKeyOf(blsSk))) as Hex,
    proofOfPossession: toHex(g2ToEip2537(provePossession(blsSk))) as Hex,
    ports: {
      challengerHttp: p,
      storeHttp: p + 1,
      storeGrpc: p + 2,
      stHttp: p + 3,
      stGrpc: p + 4,
      submitterHttp: p + 5,
      coordinatorHttp: p + 6,
      coordinatorGrpc: p + 7,
    },
  };
}

/** Provider j (0-based): payout address from mnemonic index 100+j (never sends a transaction). */
export function providerState(basePort: number, j: number): ProviderState {
  return {
    index: j,
    name: `p${j}`,
    pid: addressAt(100 + j),
    grpcPort: basePort + 300 + j * 2,
    httpPort: basePort + 301 + j * 2,
    pieces: [],
    registeredWith: [],
  };
}

/** A new network's state: a fresh seed and admin token, the chain's user, no keepers or providers yet. */
export function freshState(
  o: Pick<DevnetOptions, 'basePort' | 'blockTime' | 'price' | 'period' | 'window'>,
): DevnetState {
  const seed = viemHex(randomBytes(32));
  const b = o.basePort;
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    seed,
    adminToken: randomBytes(24).toString('hex'),
    ports: { nats: b, redis: b + 1, postgres: b + 2, anvil: b + 3, control: b + 4 },
    chain: {
      chainId: 31337,
      blockTime: o.blockTime,
      user: addressAt(0),
      userKey: privateKeyAt(0),
      config: { price: String(o.price), period: String(o.period), window: String(o.window) },
    },
    keepers: [],
    providers: [],
    pieceNonce: '1',
  };
}

/**
 * Opens the data folder: wipes it with `fresh`, loads `state.json` when present (a resumed network keeps
 * its seed, ports, keys and chain addresses), and adds keepers/providers up to the requested counts.
 */
export function openState(o: DevnetOptions): { state: DevnetState; layout: Layout; resumed: boolean } {
  const layout = layoutOf(o.dataDir);
  if (o.fresh) rmSync(o.dataDir, { recursive: true, force: true });
  mkdirSync(layout.logs, { recursive: true });
  // PostgreSQL runs as the unprivileged `postgres` user when we are root: it must traverse the folder
  // (mkdtemp makes it 0700).
  chmodSync(o.dataDir, 0o755);
  mkdirSync(join(o.dataDir, 'anvil'), { recursive: true });
  const resumed = existsSync(layout.state);
  const state: DevnetState = resumed
    ? (JSON.parse(readFileSync(layout.state, 'utf8')) as DevnetState)
    : freshState(o);
  const base = state.ports.nats;
  for (let i = state.keepers.length; i < o.keepers; i++) state.keepers.push(keeperState(state.seed, base, i));
  for (let j = state.providers.length; j < o.providers; j++) state.providers.push(providerState(base, j));
  saveState(layout, state);
  return { state, layout, resumed };
}

export function saveState(layout: Layout, state: DevnetState): void {
  const tmp = `${layout.state}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, layout.state);
}

/** What `ctl` needs to reach a running devnet: written when it is up, removed when it stops. */
export interface ControlFile {
  url: string;
  token: string;
  pid: number;
}
