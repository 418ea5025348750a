import {
  type AnvilServer,
  type NatsServer,
  type PostgresServer,
  type RedisServer,
  startAnvil,
  startNats,
  startPostgres,
  startRedis,
} from '@whitepay/testkit';

/** The shared servers of a local network, each on loopback (testkit). */
export interface Infra {
  nats: NatsServer;
  redis: RedisServer;
  pg: PostgresServer;
  anvil: AnvilServer;
  /** What `startKeeper` takes. */
  endpoints: InfraEndpoints;
  stop(): Promise<void>;
}

export interface InfraEndpoints {
  natsUrl: string;
  redisUrl: string;
  /** One database per keeper is created on it. */
  pgServer: PostgresServer;
  rpcUrl: string;
  chainId: number;
}

/**
 * Starts NATS (JetStream), Redis, PostgreSQL and anvil in parallel.
 * `blockTime` (seconds) makes anvil mine on its own, so the chain-submitter
 * publishes blocks and the challenger challenges without transactions.
 */
export async function startInfra(opts: { blockTime?: number } = {}): Promise<Infra> {
  const started: Array<{ stop(): Promise<void> }> = [];
  const track = <T extends { stop(): Promise<void> }>(p: Promise<T>) =>
    p.then((s) => {
      started.push(s);
      return s;
    });
  try {
    const [nats, redis, pg, anvil] = await Promise.all([
      track(startNats()),
      track(startRedis()),
      track(startPostgres()),
      track(startAnvil(opts.blockTime === undefined ? {} : { blockTime: opts.blockTime })),
    ]);
    return {
      nats,
      redis,
      pg,
      anvil,
      endpoints: {
        natsUrl: nats.url,
        redisUrl: redis.url,
        pgServer: pg,
        rpcUrl: anvil.rpcUrl,
        chainId: anvil.chainId,
      },
      async stop() {
        await Promise.allSettled([nats.stop(), redis.stop(), pg.stop(), anvil.stop()]);
      },
    };
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.stop()));
    throw err;
  }
}
