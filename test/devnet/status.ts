import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { upkeepingAbi } from '@whitepay/contracts';
import { type Address, formatEther } from 'viem';
import type { Devnet } from './devnet.js';
import { procName } from './services.js';
import type { ServiceName } from './state.js';
import type { ProcState, ProcStatus } from './supervisor.js';

/** One `PaymentMade` event, as the status view and the e2e suite read it. */
export interface Payment {
  pid: Address;
  leaderId: number;
  tid: `0x${string}`;
  ts: bigint;
  te: bigint;
  st: bigint;
  amount: bigint;
  providerAmount: bigint;
  bonus: bigint;
  keeperShare: bigint;
  position: number;
  excluded: number;
  signers: bigint;
  /** The entry's idle set (bit i = member index i): excluded from the split like the failed keepers. */
  idle: bigint;
  block: bigint;
}

/** Reads the Upkeeping's `PaymentMade` events incrementally (every payment since the factory's block). */
export class PaymentLog {
  readonly payments: Payment[] = [];
  private next: bigint | undefined;
  constructor(private readonly net: Pick<Devnet, 'state' | 'reader'>) {}

  /** The last block the payments read so far cover (a ledger read at it sees exactly them). */
  get head(): bigint | undefined {
    return this.next === undefined ? undefined : this.next - 1n;
  }

  async poll(head?: bigint): Promise<Payment[]> {
    const upkeeping = this.net.state.chain.upkeeping;
    if (!upkeeping) return this.payments;
    const to = head ?? (await this.net.reader.getBlockNumber());
    const from = this.next ?? BigInt(this.net.state.chain.factoryBlock ?? '0');
    if (from > to) return this.payments;
    const logs = await this.net.reader.getContractEvents({
      address: upkeeping,
      abi: upkeepingAbi,
      eventName: 'PaymentMade',
      fromBlock: from,
      toBlock: to,
    });
    for (const l of logs) {
      const a = l.args;
      this.payments.push({
        pid: a.pid!,
        leaderId: a.leaderId!,
        tid: a.tid!,
        ts: a.ts!,
        te: a.te!,
        st: a.st!,
        amount: a.amount!,
        providerAmount: a.providerAmount!,
        bonus: a.bonus!,
        keeperShare: a.keeperShare!,
        position: a.position!,
        excluded: a.excluded!,
        signers: a.signers!,
        idle: a.idle!,
        block: l.blockNumber,
      });
    }
    this.next = to + 1n;
    return this.payments;
  }
}

export interface LogError {
  at: string;
  proc: string;
  msg: string;
}

/** Follows the processes' log files and keeps their latest error lines (pino level >= 50). */
export class ErrorTail {
  private readonly offsets = new Map<string, number>();
  readonly recent: LogError[] = [];
  constructor(
    private readonly logDir: string,
    private readonly keep = 6,
  ) {}

  /** Starts at the current end of every file: errors of an earlier run are not news. */
  skipExisting(names: readonly string[]): void {
    for (const n of names) {
      const f = join(this.logDir, `${n}.log`);
      this.offsets.set(n, existsSync(f) ? statSync(f).size : 0);
    }
  }

  scan(names: readonly string[]): void {
    for (const n of names) {
      const f = join(this.logDir, `${n}.log`);
      if (!existsSync(f)) continue;
      const size = statSync(f).size;
      const from = Math.min(this.offsets.get(n) ?? 0, size);
      if (size <= from) continue;
      const len = Math.min(size - from, 1 << 20);
      const buf = Buffer.alloc(len);
      const fd = openSync(f, 'r');
      try {
        readSync(fd, buf, 0, len, size - len);
      } finally {
        closeSync(fd);
      }
      this.offsets.set(n, size);
      for (const line of buf.toString('utf8').split('\n')) {
        if (!line.includes('"level":5') && !line.includes('"level":6')) continue;
        try {
          const j = JSON.parse(line) as {
            level: number;
            time?: number;
            msg?: string;
            err?: { message?: string };
          };
          if (j.level < 50) continue;
          const msg = [j.msg, j.err?.message].filter(Boolean).join(': ');
          this.recent.push({ at: new Date(j.time ?? Date.now()).toISOString().slice(11, 19), proc: n, msg });
        } catch {
          // not a JSON log line
        }
      }
      if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
    }
  }
}

export interface ProviderView {
  name: string;
  pid: Address;
  /** Latest own record of keeper 1 (the first keeper) for this provider. */
  lastRecord: { block: string; space: string; verdict: number } | null;
  last: Payment | null;
  payments: number;
  balance: bigint | null;
  fault: string | null;
}

export interface KeeperView {
  id: number;
  account: Address;
  balance: bigint | null;
  /** Payments this keeper submitted as leader (chain). */
  paid: number;
  /** From the coordinator's GET /v1/rounds, when it runs. */
  rounds: { led: number; failed: number } | null;
  /** Payments that counted this keeper idle (SPEC 3 item 5: no share), and the latest of them. */
  idle: { count: number; last: Payment | null };
  procs: Partial<Record<ServiceName, ProcState>>;
}

export interface Snapshot {
  at: Date;
  head: bigint | null;
  upkeeping: Address | undefined;
  unreserved: bigint | null;
  providers: ProviderView[];
  keepers: KeeperView[];
  procs: ProcStatus[];
  errors: LogError[];
}

async function getJson(url: string): Promise<unknown> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_500) });
    if (!res.ok) return null;
    return await res.json();
  } catch {
    return null;
  }
}

/** Counts a coordinator's rounds by outcome, whatever the exact shape of its listing. */
/**
 * Every page of a paged list route (`{ <key>: [...], next?: string }`, base's cursor), following
 * `next` up to `maxPages`; null when the first page does not answer.
 */
async function getAllPages(
  url: string,
  key: string,
  maxPages = 20,
): Promise<{ [k: string]: unknown[] } | null> {
  const items: unknown[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const sep = url.includes('?') ? '&' : '?';
    const body = (await getJson(cursor ? `${url}${sep}cursor=${encodeURIComponent(cursor)}` : url)) as
      | ({ next?: string } & Record<string, unknown>)
      | null;
    if (body === null) return i === 0 ? null : { [key]: items };
    const list = body[key];
    if (Array.isArray(list)) items.push(...list);
    if (typeof body.next !== 'string' || body.next === '') break;
    cursor = body.next;
  }
  return { [key]: items };
}

export function countRounds(body: unknown): { led: number; failed: number } | null {
  if (body === null || typeof body !== 'object') return null;
  const list = Array.isArray(body) ? body : (body as { rounds?: unknown }).rounds;
  if (!Array.isArray(list)) return null;
  let led = 0;
  let failed = 0;
  for (const r of list) {
    const o = (r ?? {}) as Record<string, unknown>;
    const word = String(o.outcome ?? o.phase ?? o.status ?? o.state ?? '');
    led++;
    if (/fail|abort|expire|timeout|error/i.test(word)) failed++;
  }
  return { led, failed };
}

/** The payments whose idle set names the member at `index`. */
export function idleOf(payments: readonly Payment[], index: number): KeeperView['idle'] {
  const mine = payments.filter((x) => ((x.idle >> BigInt(index)) & 1n) === 1n);
  return { count: mine.length, last: mine.at(-1) ?? null };
}

/** Collects one frame of the status view. */
export class StatusCollector {
  readonly paymentLog: PaymentLog;
  readonly errors: ErrorTail;
  constructor(private readonly net: Devnet) {
    this.paymentLog = new PaymentLog(net);
    this.errors = new ErrorTail(net.layout.logs);
    this.errors.skipExisting(net.supervisor.names());
  }

  async snapshot(): Promise<Snapshot> {
    const { state, reader } = this.net;
    const upkeeping = state.chain.upkeeping;
    const head = await reader.getBlockNumber().catch(() => null);
    const payments =
      head === null ? this.paymentLog.payments : await this.paymentLog.poll(head).catch(() => []);
    const balanceOf = async (account: Address) =>
      upkeeping
        ? reader
            .readContract({
              address: upkeeping,
              abi: upkeepingAbi,
              functionName: 'balanceOf',
              args: [account],
            })
            .catch(() => null)
        : null;
    const unreserved = upkeeping
      ? await reader
          .readContract({ address: upkeeping, abi: upkeepingAbi, functionName: 'unreservedBalance' })
          .catch(() => null)
      : null;
    const k1 = state.keepers[0];
    const providers = await Promise.all(
      state.providers.map(async (p): Promise<ProviderView> => {
        const mine = payments.filter((x) => x.pid.toLowerCase() === p.pid.toLowerCase());
        let lastRecord: ProviderView['lastRecord'] = null;
        if (k1 && head !== null) {
          // The first page deliberately: the records of the last 5 blocks fit in it.
          const from = head > 5n ? head - 5n : 0n;
          const body = (await getJson(
            `http://127.0.0.1:${k1.ports.storeHttp}/v1/records/${state.chain.user}/${p.pid}?from=${from}&limit=50`,
          )) as { records?: Array<{ block: string; space: string; verdict: number }> } | null;
          const recs = body?.records ?? [];
          lastRecord = recs.at(-1) ?? null;
        }
        const fault = (await getJson(`http://127.0.0.1:${p.httpPort}/v1/faults`)) as { mode?: string } | null;
        return {
          name: p.name,
          pid: p.pid,
          lastRecord,
          last: mine.at(-1) ?? null,
          payments: mine.length,
          balance: await balanceOf(p.pid),
          fault: fault?.mode ?? null,
        };
      }),
    );
    const procs = this.net.supervisor.status();
    const keepers = await Promise.all(
      // The group is registered in the order of state.keepers: keeper i is bit i of an idle set.
      state.keepers.map(async (k, index): Promise<KeeperView> => {
        const states: KeeperView['procs'] = {};
        for (const s of this.net.services) {
          const st = procs.find((p) => p.name === procName(k, s))?.state;
          if (st) states[s] = st;
        }
        const coord = this.net.services.includes('consensus-coordinator')
          ? countRounds(
              await getAllPages(`http://127.0.0.1:${k.ports.coordinatorHttp}/v1/rounds?limit=1000`, 'rounds'),
            )
          : null;
        return {
          id: k.id,
          account: k.account,
          balance: await balanceOf(k.account),
          paid: payments.filter((x) => x.leaderId === k.id).length,
          rounds: coord,
          idle: idleOf(payments, index),
          procs: states,
        };
      }),
    );
    this.errors.scan(this.net.supervisor.names());
    return {
      at: new Date(),
      head,
      upkeeping,
      unreserved,
      providers,
      keepers,
      procs,
      errors: [...this.errors.recent],
    };
  }
}

const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;
const eth = (v: bigint | null) => (v === null ? '?' : `${Number(formatEther(v)).toFixed(6)} ETH`);
const group = (v: bigint) => v.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const VERDICTS: Record<number, string> = {
  1: 'ok',
  2: 'partial',
  3: 'invalid',
  4: 'timeout',
  5: 'unreachable',
};
const SERVICE_SHORT: Record<ServiceName, string> = {
  challenger: 'chal',
  'challenge-store': 'store',
  'st-calculator': 'st',
  'chain-submitter': 'submit',
  'consensus-coordinator': 'coord',
};

/** The status view as plain text lines (`color` adds ANSI emphasis for a terminal). */
export function renderStatus(s: Snapshot, net: Devnet, color: boolean): string {
  const b = (t: string) => (color ? `\x1b[1m${t}\x1b[0m` : t);
  const dim = (t: string) => (color ? `\x1b[2m${t}\x1b[0m` : t);
  const mark = (st: ProcState | undefined) => {
    const sym = st === 'running' ? '●' : st === 'starting' || st === 'backoff' ? '◐' : '○';
    if (!color) return `${sym}`;
    const c = st === 'running' ? 32 : st === 'starting' || st === 'backoff' ? 33 : 31;
    return `\x1b[${c}m${sym}\x1b[0m`;
  };
  const c = net.state.chain.config;
  const out: string[] = [];
  out.push(
    `${b('WhitePay devnet')}  block ${b(s.head === null ? '?' : String(s.head))}  upkeeping ${s.upkeeping ? short(s.upkeeping) : '-'}  H=${c.period} T=${c.window}  unreserved ${eth(s.unreserved)}  ${s.at.toISOString().slice(11, 19)}`,
  );
  out.push(b('providers') + dim('   last record (keeper 1)         last paid interval, st, amount, leader'));
  for (const p of s.providers) {
    const rec = p.lastRecord
      ? `s=${group(BigInt(p.lastRecord.space))} ${VERDICTS[p.lastRecord.verdict] ?? p.lastRecord.verdict} @${p.lastRecord.block}`
      : 'no record yet';
    const paid = p.last
      ? `[${p.last.ts},${p.last.te}) st=${group(p.last.st)} ${eth(p.last.amount)} by k${p.last.leaderId} (pos ${p.last.position})`
      : 'not paid yet';
    const fault = p.fault && p.fault !== 'none' ? ` ${b(`[${p.fault}]`)}` : '';
    out.push(
      `  ${p.name} ${short(p.pid)}${fault}  ${rec.padEnd(30)} ${paid}  payments ${p.payments}  balance ${eth(p.balance)}`,
    );
  }
  out.push(
    b('keepers') +
      dim('     led/failed rounds   paid   balance             services                idle (no share)'),
  );
  for (const k of s.keepers) {
    const rounds = k.rounds ? `${k.rounds.led}/${k.rounds.failed}` : '-';
    const procs = net.services.map((sv) => `${SERVICE_SHORT[sv]} ${mark(k.procs[sv])}`).join(' ');
    const last = k.idle.last;
    const idle =
      k.idle.count === 0 || !last
        ? dim('never')
        : b(`${k.idle.count}× last [${last.ts},${last.te}) ${short(last.pid)}`);
    out.push(
      `  k${String(k.id).padEnd(3)} ${short(k.account)}  ${rounds.padEnd(9)} ${String(k.paid).padEnd(6)} ${eth(k.balance).padEnd(19)} ${procs}  ${idle}`,
    );
  }
  const counts = new Map<ProcState, number>();
  for (const p of s.procs) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
  const restarts = s.procs.reduce((a, p) => a + p.restarts, 0);
  out.push(
    `${b('processes')}  ${[...counts.entries()].map(([k, v]) => `${v} ${k}`).join(', ')}; ${restarts} restarts  ${dim(`(logs: ${net.layout.logs})`)}`,
  );
  const down = s.procs.filter((p) => p.state !== 'running');
  if (down.length > 0)
    out.push(
      `  not running: ${down.map((p) => `${p.name} (${p.state}${p.lastExit ? `, ${p.lastExit}` : ''})`).join(', ')}`,
    );
  out.push(b('recent errors'));
  if (s.errors.length === 0) out.push(dim('  none'));
  for (const e of s.errors) out.push(`  ${e.at} ${e.proc.padEnd(26)} ${e.msg.slice(0, 110)}`);
  return out.join('\n');
}
