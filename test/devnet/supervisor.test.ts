import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@whitepay/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { Supervisor } from './supervisor.js';

describe('devnet supervisor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'whitepay-sup-'));
  const sup = new Supervisor(dir);
  afterAll(async () => {
    await sup.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs, restarts after a crash, stops on request and logs output', async () => {
    sup.add({
      name: 'sleeper',
      group: 'g',
      cmd: process.execPath,
      args: ['-e', 'console.log("hello " + process.env.X); setInterval(() => {}, 1000)'],
      env: { X: 'world' },
    });
    sup.start('sleeper');
    await waitFor('running', async () => sup.status()[0]?.state === 'running');
    const log = () => readFileSync(join(dir, 'sleeper.log'), 'utf8');
    await waitFor('output', async () => log().includes('hello world'));
    const pid = sup.status()[0]?.pid;
    sup.kill('sleeper');
    await waitFor(
      'restarted',
      async () => sup.status()[0]?.state === 'running' && sup.status()[0]?.pid !== pid,
    );
    expect(sup.status()[0]?.restarts).toBe(1);
    await sup.stop('sleeper');
    expect(sup.status()[0]).toMatchObject({ state: 'stopped', pid: undefined });
    sup.start('sleeper');
    await waitFor('running again', async () => sup.status()[0]?.state === 'running');
  });
});
