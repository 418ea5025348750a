import { createLogger, createRegistry, loadServiceConfig, redactConfig, runService } from '@whitepay/base';
import { connectBus } from '@whitepay/bus';
import { Redis } from 'ioredis';
import { createPublicClient, createWalletClient, http, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createApp } from './app.js';
import { configShape, loadConfig } from './config.js';

const config = loadServiceConfig('chain-submitter', () => loadConfig());
const log = createLogger({
  service: 'chain-submitter',
  level: config.logLevel,
  base: { keeperId: config.keeperId },
  redact: ['privateKey', '*.privateKey', 'config.privateKey'],
});

await runService(log, async () => {
  log.info({ config: redactConfig(configShape, config) }, 'configuration');
  const registry = createRegistry('chain-submitter', { keeper: String(config.keeperId) });
  const transport = http(config.rpcUrl, { retryCount: 0, timeout: 10_000 });
  const account = privateKeyToAccount(config.privateKey as `0x${string}`);
  const publicClient = createPublicClient({ transport }) as PublicClient;
  const walletClient = createWalletClient({ account, transport });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  const nc = await connectBus({ url: config.natsUrl, name: `chain-submitter-${config.keeperId}`, log });
  const app = await createApp({ config, log, registry, publicClient, walletClient, nc, redis });
  await app.start();
  await app.http.listen({ host: config.httpHost, port: config.httpPort });
  return async () => {
    await app.stop();
    await nc.drain();
    redis.disconnect();
  };
});
