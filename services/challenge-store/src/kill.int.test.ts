import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@whitepay/base';
import { connectBus, subjects } from '@whitepay/bus';
import { closePool, createPool, migrate } from '@whitepay/store';
import {
  freePort,
  type NatsServer,
  type PostgresServer,
  startNats,
  startPostgres,
  waitFor,
} from '@whitepay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord, makeRecord, signingPublisher, TEST_BUS_SIGNER } from './testing.js';

const serviceDir = fileURLToPath(new URL('..', import.meta.url));

/** The real service (`pnpm start`) as a child process, so it can be SIGKILLed mid-stream. */
async function spawnService(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', 'src/main.ts'], {
    cwd: serviceDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor('service started', async () => {
    if (child.exitCode !== null) throw new Error(`service exited: ${out}`);
    return out.includes('"msg":"started"');
  });
  return child;
}

describe('challenge-store killed mid-stream', () => {
  let pg: PostgresServer;
  let nats: NatsServer;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    [pg, nats] = await Promise.all([startPostgres(), startNats()]);
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await nats?.stop();
    await pg?.stop();
  });

  it('SIGKILL without acking in-flight batches, restart: every record present exactly once', async () => {
    const url = await pg.createDatabase('kill');
    const pool = createPool({ url, log: silentLogger() });
    await migrate(pool);
    const env = async () => ({
      CHALLENGE_STORE_KEEPER_ID: '1',
      CHALLENGE_STORE_DATABASE_URL: url,
      CHALLENGE_STORE_NATS_URL: nats.url,
      CHALLENGE_STORE_NATS_SIGNER: TEST_BUS_SIGNER.address,
      CHALLENGE_STORE_HTTP_PORT: String(await freePort()),
      CHALLENGE_STORE_GRPC_PORT: String(await freePort()),
      CHALLENGE_STORE_ACK_WAIT_MS: '2000',
      CHALLENGE_STORE_LOG_LEVEL: 'info',
    });
    const nc = await connectBus({ url: nats.url, name: 'pub', log: silentLogger() });
    const s = subjects('k1');
    const first = await spawnService(await env());
    children.push(first);
    const N = 40_000;
    const pub = signingPublisher(nc.jetstream(), 256);
    const publishing = (async () => {
      for (let i = 0; i < N; i++)
        await pub.publish(s.recordsFor('u', 'p'), encodeRecord(makeRecord(i % 5, BigInt(i))), `m${i}`);
      await pub.flush();
    })();
    const rows = async () =>
      (await pool.query('SELECT count(*)::int AS c FROM challenge_records')).rows[0].c as number;
    await waitFor('ingest under way', async () => (await rows()) > 5000, 60_000, 10);
    first.kill('SIGKILL');
    const before = await rows();
    await publishing;
    expect(before).toBeLessThan(N);
    const second = await spawnService(await env());
    children.push(second);
    await waitFor('all records stored', async () => (await rows()) >= N, 120_000, 100);
    // a little longer: redeliveries of what the killed process held must not add rows
    await new Promise((r) => setTimeout(r, 3000));
    const r = await pool.query(
      'SELECT count(*)::int AS c, count(DISTINCT (user_addr, pid, block, keeper_id))::int AS d FROM challenge_records',
    );
    expect(r.rows[0]).toEqual({ c: N, d: N });
    const jsm = await nc.jetstreamManager();
    await waitFor('consumer drained', async () => {
      const info = await jsm.consumers.info(s.streams.records, 'challenge-store');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
    await nc.close();
    await closePool(pool);
  });
});
