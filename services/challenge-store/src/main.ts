import { createRegistry, loadServiceConfig, redactConfig, runService } from '@whitepay/base';
import { connectBus, natsEndpointOf } from '@whitepay/bus';
import { listenGrpc } from '@whitepay/rpc';
import { closePool, createPool, databaseTlsOf, migrate } from '@whitepay/store';
import { createApp } from './app.js';
import { CONFIG_PREFIX, configShape, createLog, loadConfig, SERVICE } from './config.js';

const config = loadServiceConfig(SERVICE, () => loadConfig());
const log = createLog(config);

await runService(log, async () => {
  log.info({ config: redactConfig(configShape, config) }, 'configuration');
  const registry = createRegistry(SERVICE, { keeper: String(config.keeperId) });
  const pool = createPool({
    url: config.databaseUrl,
    tls: databaseTlsOf(config, CONFIG_PREFIX),
    log,
    max: config.dbPoolSize,
    applicationName: `challenge-store-${config.keeperId}`,
  });
  if (config.migrate) await migrate(pool, { log });
  const nc = await connectBus({
    ...natsEndpointOf(config, CONFIG_PREFIX),
    name: `${SERVICE}-${config.keeperId}`,
    log,
  });
  const app = await createApp({ config, log, registry, pool, nc });
  await app.start();
  const grpcServer = await listenGrpc(app.registerGrpc, config.grpcHost, config.grpcPort);
  await app.http.listen({ host: config.httpHost, port: config.httpPort });
  log.info({ grpcPort: grpcServer.port, httpPort: config.httpPort }, 'listening');
  return async () => {
    await grpcServer.stop();
    await app.stop();
    await nc.drain();
    await closePool(pool);
  };
});
