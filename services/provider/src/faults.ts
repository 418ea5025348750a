/** Injected faults of the node, switched at start by config and at run time by the admin API. */
export type FaultMode = 'none' | 'offline' | 'slow';

export class Faults {
  constructor(
    public mode: FaultMode,
    public delayMs: number,
  ) {}

  set(mode: FaultMode, delayMs?: number): void {
    this.mode = mode;
    if (delayMs !== undefined) this.delayMs = delayMs;
  }

  snapshot(): { mode: FaultMode; delayMs: number } {
    return { mode: this.mode, delayMs: this.delayMs };
  }
}
