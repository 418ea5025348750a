import { createConnection } from 'node:net';
import type { ServerTlsOptions } from './pki.js';
import { freePort, tempDir, waitFor } from './ports.js';
import { exitedEarly, type Managed, spawnManaged } from './process.js';

export interface NatsServer {
  url: string;
  port: number;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function tcpReady(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * `nats-server -js` on loopback (or `host`: e.g. a podman network's gateway, for containers) with its
 * JetStream store in a temp dir (kept across restart). With `tls` it speaks TLS only (`tls://` URL),
 * and with `tls.verifyClients` requires a client certificate signed by `tls.caFile`; `args` are added
 * to the command line (`--user`, `--pass`, `--auth`).
 */
export async function startNats(
  opts: { port?: number; storeDir?: string; host?: string; tls?: ServerTlsOptions; args?: string[] } = {},
): Promise<NatsServer> {
  const host = opts.host ?? '127.0.0.1';
  const tmp = opts.storeDir ? undefined : await tempDir('nats');
  const storeDir = opts.storeDir ?? tmp!.path;
  const port = opts.port ?? (await freePort());
  const bin = process.env.WHITEPAY_NATS_SERVER ?? 'nats-server';
  let proc: Managed;
  const launch = async () => {
    const tls = opts.tls
      ? [
          '--tls',
          '--tlscert',
          opts.tls.certFile,
          '--tlskey',
          opts.tls.keyFile,
          ...(opts.tls.verifyClients ? ['--tlsverify', '--tlscacert', opts.tls.caFile] : []),
        ]
      : [];
    proc = spawnManaged(bin, [
      '-js',
      '-a',
      host,
      '-p',
      String(port),
      '-sd',
      storeDir,
      ...tls,
      ...(opts.args ?? []),
    ]);
    await waitFor(`nats-server on port ${port}`, async () => {
      if (exitedEarly(proc)) throw new Error(`nats-server exited: ${proc.output()}`);
      return tcpReady(port, host);
    });
  };
  await launch();
  return {
    url: `${opts.tls ? 'tls' : 'nats'}://${host}:${port}`,
    port,
    kill: () => proc.stop('SIGKILL'),
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
