import { createConnection } from 'node:net';
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
 * JetStream store in a temp dir (kept across restart).
 */
export async function startNats(
  opts: { port?: number; storeDir?: string; host?: string } = {},
): Promise<NatsServer> {
  const host = opts.host ?? '127.0.0.1';
  const tmp = opts.storeDir ? undefined : await tempDir('nats');
  const storeDir = opts.storeDir ?? tmp!.path;
  const port = opts.port ?? (await freePort());
  const bin = process.env.WHITEPAY_NATS_SERVER ?? 'nats-server';
  let proc: Managed;
  const launch = async () => {
    proc = spawnManaged(bin, ['-js', '-a', host, '-p', String(port), '-sd', storeDir]);
    await waitFor(`nats-server on port ${port}`, async () => {
      if (exitedEarly(proc)) throw new Error(`nats-server exited: ${proc.output()}`);
      return tcpReady(port, host);
    });
  };
  await launch();
  return {
    url: `nats://${host}:${port}`,
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
