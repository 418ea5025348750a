/** Injected faults of the node, switched at start by config and at run time by the admin API. */
export type FaultMode = 'none' | 'offline' | 'slow';

export interface Fault {
  mode: FaultMode;
  delayMs: number;
}

/**
 * The node-wide fault and per-provider-account overrides (a multi-tenant
 * node can take one pid offline while answering for the others).
 */
export class Faults {
  private readonly pids = new Map<string, Fault>();

  constructor(
    public mode: FaultMode,
    public delayMs: number,
  ) {}

  /** Sets the node-wide fault, or with `pid` that account's override. */
  set(mode: FaultMode, delayMs?: number, pid?: string): void {
    if (pid) {
      const prev = this.pids.get(pid.toLowerCase());
      this.pids.set(pid.toLowerCase(), { mode, delayMs: delayMs ?? prev?.delayMs ?? this.delayMs });
      return;
    }
    this.mode = mode;
    if (delayMs !== undefined) this.delayMs = delayMs;
  }

  /** Drops a pid's override (it follows the node-wide fault again); false when it had none. */
  clear(pid: string): boolean {
    return this.pids.delete(pid.toLowerCase());
  }

  /** The fault a challenge naming `pid` meets: its override, else the node-wide one. */
  for(pid: string | undefined): Fault {
    if (pid && this.pids.size > 0) {
      const f = this.pids.get(pid.toLowerCase());
      if (f) return f;
    }
    return { mode: this.mode, delayMs: this.delayMs };
  }

  /** The node-wide fault, or with `pid` the one that pid meets. */
  snapshot(pid?: string): Fault {
    return pid ? { ...this.for(pid) } : { mode: this.mode, delayMs: this.delayMs };
  }

  /** Pids with an override. */
  overrides(): Record<string, Fault> {
    return Object.fromEntries([...this.pids].map(([p, f]) => [p, { ...f }]));
  }
}
