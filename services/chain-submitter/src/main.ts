import { createRegistry, loadServiceConfig, redactConfig, runService } from '@whitepay/base';
import { connectBus, natsEndpointOf } from '@whitepay/bus';
import { chainTransport } from '@whitepay/chain';
import { createRedis, redisReady } from '@whitepay/redis';
import { createPublicClient, createWalletClient, type PublicClient } from 'viem';
import { createApp } from './app.js';
import { CONFIG_PREFIX, configShape, createLog, loadConfig, SERVICE } from './config.js';
import { loadKeys } from './signer.js';

const config = loadServiceConfig(SERVICE, () => loadConfig());
const log = createLog(config);

await runService(log, async () => {
  log.info({ config: redactConfig(configShape, config) }, 'configuration');
  const registry = createRegistry(SERVICE, { keeper: String(config.keeperId) });
  const transport = chainTransport(config, { retryCount: 0, timeoutMs: 10_000, registry });
  const { account, bus } = await loadKeys(config);
  const publicClient = createPublicClient({ transport }) as PublicClient;
  const walletClient = createWalletClient({ account, transport });
  const redis = createRedis(config, CONFIG_PREFIX);
  // A refused TLS handshake fails the start typed (REDIS_TLS_REFUSED), not as a command's retries running out.
  await redisReady(redis, 30_000);
  const nc = await connectBus({
    ...natsEndpointOf(config, CONFIG_PREFIX),
    name: `${SERVICE}-${config.keeperId}`,
    log,
  });
  const app = await createApp({ config, log, registry, publicClient, walletClient, bus, nc, redis });
  await app.start();
  await app.http.listen({ host: config.httpHost, port: config.httpPort });
  return async () => {
    await app.stop();
    await nc.drain();
    redis.disconnect();
  };
});
