import { createRegistry, loadServiceConfig, redactConfig, runService } from '@whitepay/base';
import { connectBus, natsEndpointOf } from '@whitepay/bus';
import { assertChainId, createChainClient } from '@whitepay/chain';
import { createRedis, redisReady } from '@whitepay/redis';
import { createApp } from './app.js';
import { configShape, createLog, loadConfig, PREFIX, SERVICE } from './config.js';
import { withKeys } from './keys.js';

const parsed = loadServiceConfig(SERVICE, () => loadConfig());
const log = createLog(parsed);

await runService(log, async () => {
  const config = await withKeys(parsed);
  log.info({ config: redactConfig(configShape, config) }, 'configuration');
  const registry = createRegistry(SERVICE, { keeper: String(config.keeperId) });
  const publicClient = createChainClient(config, { retryCount: 2, timeoutMs: 10_000, registry });
  await assertChainId(publicClient, config);
  const redis = createRedis(config, PREFIX);
  // A refused TLS handshake fails the start typed (REDIS_TLS_REFUSED), not as a command's retries running out.
  await redisReady(redis, 30_000);
  const nc = await connectBus({
    ...natsEndpointOf(config, PREFIX),
    name: `${SERVICE}-${config.keeperId}`,
    log,
  });
  const app = await createApp({ config, log, registry, publicClient, nc, redis });
  await app.start();
  await app.http.listen({ host: config.httpHost, port: config.httpPort });
  return async () => {
    await app.stop();
    await nc.drain();
    redis.disconnect();
  };
});
