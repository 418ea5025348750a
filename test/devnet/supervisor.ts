import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/**
 * The parent's environment minus what must not leak into a child: a test
 * runner's IPC channel (a child would try to open it) and loader options.
 */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_CHANNEL_FD;
  delete env.NODE_CHANNEL_SERIALIZATION_MODE;
  delete env.NODE_OPTIONS;
  return { ...env, ...extra };
}

/** One process of the local network (a keeper service or a provider node). */
export interface ProcSpec {
  name: string;
  /** Group shown in the status view (e.g. `keeper-0`, `providers`). */
  group: string;
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Restart after an unexpected exit (with backoff). */
  restart?: boolean;
}

export type ProcState = 'starting' | 'running' | 'stopped' | 'crashed' | 'backoff';

export interface ProcStatus {
  name: string;
  group: string;
  state: ProcState;
  pid: number | undefined;
  restarts: number;
  lastExit: string | undefined;
}

interface Entry {
  spec: ProcSpec;
  child: ChildProcess | undefined;
  state: ProcState;
  restarts: number;
  lastExit: string | undefined;
  wanted: boolean;
  log: WriteStream;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Starts, restarts and stops the local network's processes. Output goes to
 * `<logDir>/<name>.log`; an unexpected exit is restarted with backoff; `stop`
 * (a scenario control) keeps it down until `start` is called again.
 */
export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly logDir: string) {
    mkdirSync(logDir, { recursive: true });
  }

  add(spec: ProcSpec): void {
    if (this.entries.has(spec.name)) throw new Error(`duplicate process ${spec.name}`);
    this.entries.set(spec.name, {
      spec,
      child: undefined,
      state: 'stopped',
      restarts: 0,
      lastExit: undefined,
      wanted: false,
      log: createWriteStream(join(this.logDir, `${spec.name}.log`), { flags: 'a' }),
      timer: undefined,
    });
  }

  start(name: string): void {
    const e = this.get(name);
    e.wanted = true;
    if (e.child) return;
    this.launch(e);
  }

  private launch(e: Entry): void {
    e.state = 'starting';
    e.log.write(`\n--- ${new Date().toISOString()} starting ${e.spec.cmd} ${e.spec.args.join(' ')}\n`);
    const child = spawn(e.spec.cmd, e.spec.args, {
      cwd: e.spec.cwd,
      env: childEnv(e.spec.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    e.child = child;
    child.stdout?.pipe(e.log, { end: false });
    child.stderr?.pipe(e.log, { end: false });
    child.once('spawn', () => {
      if (e.child === child) e.state = 'running';
    });
    child.once('exit', (code, signal) => {
      if (e.child !== child) return;
      e.child = undefined;
      e.lastExit = signal ? `signal ${signal}` : `code ${code}`;
      if (!e.wanted) {
        e.state = 'stopped';
        return;
      }
      e.state = e.spec.restart === false ? 'crashed' : 'backoff';
      if (e.spec.restart === false) return;
      e.restarts++;
      const delay = Math.min(10_000, 250 * 2 ** Math.min(e.restarts, 6));
      e.timer = setTimeout(() => {
        e.timer = undefined;
        if (e.wanted && !e.child) this.launch(e);
      }, delay);
    });
  }

  /** Stops a process and keeps it down (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    const e = this.get(name);
    e.wanted = false;
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    const child = e.child;
    if (!child) {
      e.state = 'stopped';
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** A crash for scenarios: SIGKILL, and the supervisor restarts it as after any crash. */
  kill(name: string): void {
    this.get(name).child?.kill('SIGKILL');
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((n) => this.stop(n)));
    for (const e of this.entries.values()) e.log.end();
  }

  status(): ProcStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.spec.name,
      group: e.spec.group,
      state: e.state,
      pid: e.child?.pid,
      restarts: e.restarts,
      lastExit: e.lastExit,
    }));
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  private get(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no process named ${name}`);
    return e;
  }
}
