import { createLogger, createRegistry, loadServiceConfig, redactConfig, runService } from '@whitepay/base';
import { connectBus } from '@whitepay/bus';
import { Redis } from 'ioredis';
import { createPublicClient, http, type PublicClient } from 'viem';
import { createApp } from './app.js';
import { configShape, loadConfig } from './config.js';

const config = loadServiceConfig('consensus-coordinator', () => loadConfig());
const log = createLogger({
  service: 'consensus-coordinator',
  level: config.logLevel,
  base: { keeperId: config.keeperId },
  redact: [
    'privateKey',
    'blsSecretKey',
    '*.privateKey',
    '*.blsSecretKey',
    'config.privateKey',
    'config.blsSecretKey',
  ],
});

await runService(log, async () => {
  log.info({ config: redactConfig(configShape, config) }, 'configuration');
  const registry = createRegistry('consensus-coordinator', { keeper: String(config.keeperId) });
  const publicClient = createPublicClient({
    transport: http(config.rpcUrl, { retryCount: 2, timeout: 10_000 }),
  }) as PublicClient;
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const nc = await connectBus({ url: config.natsUrl, name: `consensus-coordinator-${config.keeperId}`, log });
  const app = await createApp({ config, log, registry, publicClient, nc, redis });
  await app.start();
  await app.http.listen({ host: config.httpHost, port: config.httpPort });
  return async () => {
    await app.stop();
    await nc.drain();
    redis.disconnect();
  };
});
