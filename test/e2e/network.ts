import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upkeepingAbi } from '@whitepay/contracts';
import { amountFor, rankKeepers, type SpaceRecord, spaceTime, splitPayment } from '@whitepay/core';
import { freePort, waitFor } from '@whitepay/testkit';
import type { Address } from 'viem';
import { type Devnet, startDevnet } from '../devnet/devnet.js';
import { DEFAULTS, type DevnetOptions } from '../devnet/options.js';
import { type Payment, PaymentLog } from '../devnet/status.js';

/** The st-calculator's default: a record stops counting 1000 blocks after its own block. */
export const MAX_STALENESS = 1000n;

/** What the ledger checks read of a network: its plan and a chain reader. */
export type NetworkView = Pick<Devnet, 'state' | 'reader'>;

/** A port plan base whose first ports are free (the plan spans base .. base+320). */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 120) * 100; // below the ephemeral port range (32768+)
    const probe = await freePort();
    if (probe < base || probe > base + 400) return base;
  }
}

/** A fresh devnet in a temp folder, with short periods for tests. */
export async function startTestNetwork(
  over: Partial<DevnetOptions> = {},
): Promise<{ net: Devnet; payments: PaymentLog; cleanup: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'whitepay-e2e-'));
  const options: DevnetOptions = {
    ...DEFAULTS,
    dataDir,
    fresh: true,
    keepers: 4,
    providers: 3,
    basePort: await freeBase(),
    blockTime: 1,
    period: 16n,
    window: 8n,
    status: 'off',
    ...over,
  };
  const lines: string[] = [];
  const net = await startDevnet(options, (l) => lines.push(l)).catch((err: unknown) => {
    console.error(lines.join('\n'));
    throw err;
  });
  console.log(`e2e devnet up in ${(net.startupMs / 1000).toFixed(1)} s (${dataDir})`);
  const payments = new PaymentLog(net);
  return {
    net,
    payments,
    cleanup: async () => {
      await net.stop();
      if (process.env.WHITEPAY_E2E_KEEP !== '1') rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const paymentsOf = (all: readonly Payment[], pid: Address) =>
  all.filter((p) => p.pid.toLowerCase() === pid.toLowerCase());

/** Waits until `done` holds over the payments read from the chain. */
export async function waitForPayments(
  log: PaymentLog,
  what: string,
  done: (all: readonly Payment[]) => boolean,
  timeoutMs = 90_000,
): Promise<readonly Payment[]> {
  await waitFor(what, async () => done(await log.poll()), timeoutMs, 500);
  return log.payments;
}

/** Every payment's ts is the previous te of that provider; the first starts at its add block. */
export function expectContiguous(net: NetworkView, all: readonly Payment[]): void {
  for (const p of net.state.providers) {
    let ts = BigInt(p.addedAt!);
    for (const x of paymentsOf(all, p.pid)) {
      if (x.ts !== ts) throw new Error(`${p.name}: payment [${x.ts},${x.te}) does not start at ${ts}`);
      if (x.te <= x.ts) throw new Error(`${p.name}: empty interval [${x.ts},${x.te})`);
      ts = x.te;
    }
  }
  const tids = new Set(all.map((x) => x.tid));
  if (tids.size !== all.length) throw new Error('a tid was paid twice');
}

/**
 * What every account must hold, from the payments alone: amount = st·price/1e18 (core's amountFor), split
 * by core's splitPayment among the keepers neither the ranking (positions before the leader's) nor the
 * payment's idle set excluded. Members are in registration order (= member-index order: no keeper is removed).
 */
export function predictBalances(net: NetworkView, all: readonly Payment[]): Map<string, bigint> {
  const price = BigInt(net.state.chain.config.price);
  const ids = net.state.keepers.map((k) => k.id);
  const accountOf = new Map(net.state.keepers.map((k) => [k.id, k.account.toLowerCase()]));
  const out = new Map<string, bigint>();
  const add = (a: string, v: bigint) => out.set(a.toLowerCase(), (out.get(a.toLowerCase()) ?? 0n) + v);
  for (const p of net.state.providers) add(p.pid, 0n);
  for (const k of net.state.keepers) add(k.account, 0n);
  for (const x of all) {
    const amount = amountFor(x.st, price);
    if (amount !== x.amount)
      throw new Error(`payment ${x.tid}: amount ${x.amount} != st·price/1e18 = ${amount}`);
    const ranking = rankKeepers({ user: net.state.chain.user, pid: x.pid, ts: x.ts, keepers: ids });
    const excluded = new Set(ranking.slice(0, x.position - 1));
    if (ranking[x.position - 1] !== x.leaderId)
      throw new Error(`payment ${x.tid}: leader ${x.leaderId} is not at position ${x.position}`);
    const { split, credits } = splitPayment({
      amount,
      members: ids,
      leaderId: x.leaderId,
      failed: [...excluded],
      idle: x.idle,
    });
    add(x.pid, split.provider);
    for (const [id, credit] of credits) add(accountOf.get(id)!, credit);
  }
  return out;
}

/**
 * Reads every balance from the contract and compares with the prediction; also checks the funds spent.
 * `atBlock`: the block the payments were read up to (a payment landing meanwhile is not counted twice).
 */
export async function expectBalances(
  net: NetworkView,
  all: readonly Payment[],
  atBlock?: bigint,
): Promise<void> {
  const at = atBlock === undefined ? {} : { blockNumber: atBlock };
  const upkeeping = net.state.chain.upkeeping!;
  const predicted = predictBalances(net, all);
  for (const [account, want] of predicted) {
    const got = await net.reader.readContract({
      address: upkeeping,
      abi: upkeepingAbi,
      functionName: 'balanceOf',
      args: [account as Address],
      ...at,
    });
    if (got !== want) throw new Error(`balance of ${account}: ${got}, predicted ${want}`);
  }
  const reserved = await net.reader.readContract({
    address: upkeeping,
    abi: upkeepingAbi,
    functionName: 'reserved',
    ...at,
  });
  const paid = all.reduce((a, x) => a + x.amount, 0n);
  const credited = [...predicted.values()].reduce((a, v) => a + v, 0n);
  if (reserved !== paid || credited !== paid)
    throw new Error(`funds spent ${paid}, reserved ${reserved}, credited ${credited}`);
}

/** One keeper's own records of (user, pid) in [from, to), from its challenge-store's operator API. */
export async function ownRecords(net: Devnet, keeperId: number, pid: Address, from: bigint, to: bigint) {
  const k = net.keeper(keeperId);
  const out: Array<SpaceRecord & { verdict: number }> = [];
  let cursor = '';
  do {
    const url = `http://127.0.0.1:${k.ports.storeHttp}/v1/records/${net.state.chain.user}/${pid}?from=${from}&to=${to}&limit=10000&source=own${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    const body = (await res.json()) as {
      records: Array<{ block: string; space: string; verdict: number }>;
      next?: string;
    };
    for (const r of body.records)
      out.push({ block: BigInt(r.block), space: BigInt(r.space), verdict: r.verdict });
    cursor = body.next ?? '';
  } while (cursor);
  return out;
}

/** st of [ts, te) recomputed with core's spaceTime from one keeper's own records. */
export async function recomputeSt(net: Devnet, keeperId: number, pid: Address, ts: bigint, te: bigint) {
  const from = ts > MAX_STALENESS ? ts - MAX_STALENESS : 0n;
  const records = await ownRecords(net, keeperId, pid, from, te);
  return spaceTime({ records, ts, te, maxStaleness: MAX_STALENESS });
}

/** The keeper ids in rank order for the interval starting at `ts`. */
export function ranking(net: Devnet, pid: Address, ts: bigint): number[] {
  return rankKeepers({ user: net.state.chain.user, pid, ts, keepers: net.state.keepers.map((k) => k.id) });
}
