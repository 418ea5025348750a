import { tcpReady } from './nats.js';
import { freePort, tempDir, waitFor } from './ports.js';
import { exitedEarly, type Managed, spawnManaged } from './process.js';

export interface RedisServer {
  url: string;
  port: number;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `redis-server` on loopback with AOF persistence in a temp dir (kept across restart). */
export async function startRedis(opts: { port?: number; dir?: string } = {}): Promise<RedisServer> {
  const tmp = opts.dir ? undefined : await tempDir('redis');
  const dir = opts.dir ?? tmp!.path;
  const port = opts.port ?? (await freePort());
  const bin = process.env.WHITEPAY_REDIS_SERVER ?? 'redis-server';
  let proc: Managed;
  const launch = async () => {
    proc = spawnManaged(bin, [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
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
      return tcpReady(port);
    });
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
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
