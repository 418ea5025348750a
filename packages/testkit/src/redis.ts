import { tcpReady } from './nats.js';
import type { ServerTlsOptions } from './pki.js';
import { freePort, tempDir, waitFor } from './ports.js';
import { exitedEarly, type Managed, spawnManaged } from './process.js';

export interface RedisServer {
  url: string;
  port: number;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `redis-server` on loopback (or `host`, with protected mode off: no password, reachable from that network),
 * with AOF persistence in a temp dir (kept across restart). With `tls` it listens on a TLS port only
 * (`rediss://` URL, plaintext port 0), and with `tls.verifyClients` requires a client certificate.
 */
export async function startRedis(
  opts: { port?: number; dir?: string; host?: string; tls?: ServerTlsOptions } = {},
): Promise<RedisServer> {
  const host = opts.host ?? '127.0.0.1';
  const tmp = opts.dir ? undefined : await tempDir('redis');
  const dir = opts.dir ?? tmp!.path;
  const port = opts.port ?? (await freePort());
  const bin = process.env.WHITEPAY_REDIS_SERVER ?? 'redis-server';
  let proc: Managed;
  const launch = async () => {
    const listen = opts.tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          opts.tls.certFile,
          '--tls-key-file',
          opts.tls.keyFile,
          '--tls-ca-cert-file',
          opts.tls.caFile,
          '--tls-auth-clients',
          opts.tls.verifyClients ? 'yes' : 'no',
        ]
      : ['--port', String(port)];
    proc = spawnManaged(bin, [
      ...listen,
      '--bind',
      host,
      '--protected-mode',
      host === '127.0.0.1' ? 'yes' : 'no',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ]);
    await waitFor(`redis-server on port ${port}`, async () => {
      if (exitedEarly(proc)) throw new Error(`redis-server exited: ${proc.output()}`);
      return tcpReady(port, host);
    });
  };
  await launch();
  return {
    url: `${opts.tls ? 'rediss' : 'redis'}://${host}:${port}`,
    port,
    restart: async () => {
      await proc.stop();
      await launch();
    },
    stop: async () => {
      await proc.stop();
      await tmp?.remove();
    },
  };
}
