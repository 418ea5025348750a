import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresBinDir, startAnvil, startNats, startPostgres, startRedis, tcpReady } from './index.js';

// Each launcher starts the real server on loopback, and stops it cleanly.
describe('testkit launchers', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });

  it('starts PostgreSQL as an unprivileged user and creates databases', async () => {
    const pg = await startPostgres();
    stops.push(pg.stop);
    const url = await pg.createDatabase('kit_test');
    const out = execFileSync(`${postgresBinDir()}/psql`, [
      url,
      '-Atc',
      'select current_database()',
    ]).toString();
    expect(out.trim()).toBe('kit_test');
    await pg.restart();
    const again = execFileSync(`${postgresBinDir()}/psql`, [url, '-Atc', 'select 1']).toString();
    expect(again.trim()).toBe('1');
  });

  it('starts nats-server with JetStream, redis-server and anvil (prague)', async () => {
    const [nats, redis, anvil] = await Promise.all([startNats(), startRedis(), startAnvil()]);
    stops.push(nats.stop, redis.stop, anvil.stop);
    expect(await tcpReady(nats.port)).toBe(true);
    expect(await tcpReady(redis.port)).toBe(true);
    const res = await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    expect(((await res.json()) as { result: string }).result).toBe('0x7a69');
    await nats.stop();
    expect(await tcpReady(nats.port)).toBe(false);
  });
});
