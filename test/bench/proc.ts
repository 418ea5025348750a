// CPU and memory of benchmark processes from /proc (Linux): CPU time of a process tree (PostgreSQL
// forks a backend per connection) over a measured span, and its peak RSS.
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ
const PAGE = 4096;

export function procStat(pid: number): { ticks: number; rss: number; ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields after the name: state(3) ppid(4) … utime(14) stime(15) … rss(24)
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rss: Number(f[21]) * PAGE };
  } catch {
    return undefined;
  }
}

/** The children of every process (one scan of /proc). */
function childrenMap(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(Number(d));
    if (!st) continue;
    kids.set(st.ppid, [...(kids.get(st.ppid) ?? []), Number(d)]);
  }
  return kids;
}

/** Ticks per process of a process tree (PostgreSQL forks a backend per connection), and its RSS. */
export function treeStat(
  root: number,
  kids: Map<number, number[]> = childrenMap(),
): { ticks: Map<number, number>; rss: number } {
  const ticks = new Map<number, number>();
  let rss = 0;
  const todo = [root];
  while (todo.length) {
    const p = todo.pop()!;
    const st = procStat(p);
    if (!st) continue;
    ticks.set(p, st.ticks);
    rss += st.rss;
    todo.push(...(kids.get(p) ?? []));
  }
  return { ticks, rss };
}

export function findPid(match: (cmd: string) => boolean): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (match(cmd)) return Number(d);
    } catch {}
  }
  throw new Error('process not found');
}

export class Sampler {
  private start = new Map<string, Map<number, number>>();
  private peak = new Map<string, number>();
  private t0 = 0;
  private timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly procs: () => Record<string, number>,
    private readonly intervalMs = 500,
  ) {}
  begin() {
    this.t0 = performance.now();
    this.peak.clear();
    const kids = childrenMap();
    for (const [name, pid] of Object.entries(this.procs())) this.start.set(name, treeStat(pid, kids).ticks);
    this.timer = setInterval(() => this.sampleRss(), this.intervalMs);
  }
  private sampleRss() {
    const kids = childrenMap();
    for (const [name, pid] of Object.entries(this.procs()))
      this.peak.set(name, Math.max(this.peak.get(name) ?? 0, treeStat(pid, kids).rss));
  }
  end(): Record<string, { cpu: number; rssMiB: number }> {
    clearInterval(this.timer);
    this.sampleRss();
    const secs = (performance.now() - this.t0) / 1000;
    const out: Record<string, { cpu: number; rssMiB: number }> = {};
    const kids = childrenMap();
    for (const [name, pid] of Object.entries(this.procs())) {
      // per process: a backend that exited during the run is not counted (never negative)
      const before = this.start.get(name) ?? new Map<number, number>();
      let d = 0;
      for (const [p, t] of treeStat(pid, kids).ticks) d += t - (before.get(p) ?? 0);
      out[name] = { cpu: (100 * d) / TICK / secs, rssMiB: (this.peak.get(name) ?? 0) / 2 ** 20 };
    }
    return out;
  }
}
