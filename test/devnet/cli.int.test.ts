import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@whitepay/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './options.js';
import type { ControlFile, DevnetState } from './state.js';
import { childEnv } from './supervisor.js';

// The command line as a user runs it: start, control, Ctrl-C (SIGINT to the launcher), nothing left
// running; a second start resumes the same chain and keys.

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of every process whose command line mentions `needle` (the servers carry the data folder). */
function pidsMentioning(needle: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,args='])
    .toString()
    .split('\n')
    .filter((l) => l.includes(needle))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('devnet command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'whitepay-devnet-cli-'));
  let base = 0;
  let out = '';
  const start = async (): Promise<ChildProcess> => {
    // Below 32768: Linux hands out ephemeral (client) ports above it, which collided with the fixed ports.
    base ||= 21_000 + (((await freePort()) * 7) % 110) * 100;
    const child = spawn(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        'test/devnet/main.ts',
        '--data-dir',
        dir,
        '--base-port',
        String(base),
        '--keepers',
        '1',
        '--providers',
        '1',
        '--no-coordinator',
        '--status',
        'log',
      ],
      { cwd: REPO_ROOT, env: childEnv({}), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    return child;
  };
  const exited = (c: ChildProcess) =>
    new Promise<number | null>((r) =>
      c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code)),
    );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs until SIGINT, answers ctl, leaves no process behind, and resumes', async () => {
    const controlFile = join(dir, 'control.json');
    let child = await start();
    const up = async () => {
      try {
        await waitFor(
          'control file',
          async () => {
            if (child.exitCode !== null) throw new Error(`devnet exited with ${child.exitCode}`);
            return existsSync(controlFile);
          },
          240_000,
          250,
        );
      } catch (err) {
        console.error(out);
        throw err;
      }
    };
    await up();
    const control = JSON.parse(readFileSync(controlFile, 'utf8')) as ControlFile;
    const status = (await (
      await fetch(`${control.url}/v1/status`, { headers: { authorization: `Bearer ${control.token}` } })
    ).json()) as { procs: Array<{ name: string; pid: number; state: string }> };
    expect(status.procs.map((p) => p.name).sort()).toEqual([
      'k1-chain-submitter',
      'k1-challenge-store',
      'k1-challenger',
      'k1-st-calculator',
      'p0',
    ]);
    expect(status.procs.every((p) => p.state === 'running')).toBe(true);
    expect((await fetch(`${control.url}/v1/status`)).status).toBe(401);
    // ctl, as a user types it: the provider goes offline, then a service crashes and is restarted.
    const ctl = (...args: string[]) =>
      execFileSync(
        process.execPath,
        [
          '--conditions=development',
          '--import',
          'tsx',
          'test/devnet/main.ts',
          'ctl',
          '--data-dir',
          dir,
          ...args,
        ],
        { cwd: REPO_ROOT, env: childEnv({}) },
      ).toString();
    expect(JSON.parse(ctl('offline', 'p0'))).toMatchObject({ mode: 'offline' });
    expect(JSON.parse(ctl('kill', 'k1', 'st'))).toEqual({ ok: true });
    const pids = [...status.procs.map((p) => p.pid), ...pidsMentioning(dir), control.pid];
    expect(pids.length).toBeGreaterThanOrEqual(5 + 4 + 1);

    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    expect(out).toMatch(/stopped every process/);
    expect(pids.filter(alive)).toEqual([]);
    expect(pidsMentioning(dir)).toEqual([]);
    expect(existsSync(controlFile)).toBe(false);

    const before = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as DevnetState;
    child = await start();
    await up();
    expect(out).toMatch(/resuming the network/);
    expect(out).not.toMatch(/deploying/);
    const after = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as DevnetState;
    expect(after.chain.upkeeping).toBe(before.chain.upkeeping);
    expect(after.keepers[0]?.blsPublicKey).toBe(before.keepers[0]?.blsPublicKey);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(pidsMentioning(dir)).toEqual([]);
  }, 400_000);
});
