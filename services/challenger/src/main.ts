import { createRegistry, loadServiceConfig, redactConfig, runService } from '@whitepay/base';
import { connectBus, natsEndpointOf } from '@whitepay/bus';
import { createApp } from './app.js';
import { configShape, createLog, loadConfig, PREFIX, SERVICE } from './config.js';
import { withKeeperKey } from './keys.js';
import { GrpcPieceRegistry } from './registry/grpc.js';

const parsed = loadServiceConfig(SERVICE, () => loadConfig());
const log = createLog(parsed);

await runService(log, async () => {
  const config = await withKeeperKey(parsed);
  log.info({ config: redactConfig(configShape, config) }, 'configuration');
  const nc = await connectBus({
    ...natsEndpointOf(config, PREFIX),
    name: `challenger-k${config.keeperId}`,
    log,
  });
  const pieces = new GrpcPieceRegistry(config.storeGrpcUrl, config.storeDeadlineMs, config.internalToken);
  const app = await createApp({
    config,
    log,
    registry: createRegistry('challenger', { keeper: String(config.keeperId) }),
    nc,
    pieces,
  });
  await app.start();
  await app.http.listen({ host: config.httpHost, port: config.httpPort });
  return async () => {
    await app.stop();
    pieces.close();
    await nc.drain();
  };
});
