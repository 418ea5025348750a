import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createServerPki,
  freePort,
  type NatsServer,
  type PostgresServer,
  type ServerPki,
  startNats,
  startPostgres,
  waitFor,
} from '@whitepay/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_BUS_SIGNER } from './testing.js';

const SERVICE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

// The challenge-store process (src/main.ts, as a pod runs it) against a NATS and a PostgreSQL
// that speak TLS only and require client certificates: it migrates, consumes and is ready with
// the CA and its client certificate from the TLS variables, and fails its start, typed, with a CA
// that did not sign the servers' certificates.
describe('challenge-store over TLS to NATS and PostgreSQL (mutual TLS)', () => {
  let pki: ServerPki;
  let nats: NatsServer;
  let pg: PostgresServer;
  const procs: ChildProcess[] = [];
  beforeAll(async () => {
    pki = await createServerPki();
    [nats, pg] = await Promise.all([
      startNats({ tls: { ...pki, verifyClients: true } }),
      startPostgres({ tls: { ...pki, verifyClients: true } }),
    ]);
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await nats?.stop();
    await pg?.stop();
  });

  const start = async (db: string, ca: string) => {
    const httpPort = await freePort();
    const P = 'CHALLENGE_STORE';
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', 'src/main.ts'], {
      cwd: SERVICE_DIR,
      env: {
        PATH: process.env.PATH,
        [`${P}_KEEPER_ID`]: '1',
        [`${P}_HTTP_HOST`]: '127.0.0.1',
        [`${P}_HTTP_PORT`]: String(httpPort),
        [`${P}_GRPC_HOST`]: '127.0.0.1',
        [`${P}_GRPC_PORT`]: String(await freePort()),
        [`${P}_DATABASE_URL`]: await pg.createDatabase(db),
        [`${P}_DATABASE_TLS_CA_FILE`]: ca,
        [`${P}_DATABASE_TLS_CERT_FILE`]: pki.clientCertFile,
        [`${P}_DATABASE_TLS_KEY_FILE`]: pki.clientKeyFile,
        [`${P}_NATS_URL`]: nats.url,
        [`${P}_NATS_TLS_CA_FILE`]: ca,
        [`${P}_NATS_TLS_CERT_FILE`]: pki.clientCertFile,
        [`${P}_NATS_TLS_KEY_FILE`]: pki.clientKeyFile,
        [`${P}_NATS_SIGNER`]: TEST_BUS_SIGNER.address,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(child);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { httpPort, exited, output: () => out };
  };

  it('migrates, connects and is ready with the CA and its client certificate', async () => {
    const svc = await start('store_tls', pki.caFile);
    await waitFor(
      'challenge-store /readyz',
      async () => {
        if (svc.output().includes('failed to start')) throw new Error(svc.output());
        const res = await fetch(`http://127.0.0.1:${svc.httpPort}/readyz`).catch(() => undefined);
        return res?.status === 200;
      },
      60_000,
      200,
    );
    const body = (await (await fetch(`http://127.0.0.1:${svc.httpPort}/readyz`)).json()) as unknown;
    expect(JSON.stringify(body)).toMatch(/postgres/);
    expect(svc.output()).toMatch(/"msg":"listening"/);
  });

  it('fails its start, typed, when the CA did not sign the servers’ certificates', async () => {
    const svc = await start('store_wrong_ca', pki.otherCaFile);
    expect(await svc.exited).toBe(1);
    const fatal = svc
      .output()
      .split('\n')
      .find((l) => l.includes('failed to start'));
    expect(fatal).toMatch(/STORE_TLS_REFUSED/);
  });
});
