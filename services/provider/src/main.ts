import { createRegistry, loadServiceConfig, redactConfig, runService } from '@whitepay/base';
import { createApp } from './app.js';
import { configShape, createLog, loadConfig, SERVICE } from './config.js';

const config = loadServiceConfig(SERVICE, () => loadConfig());
const log = createLog(config);

await runService(log, async () => {
  log.info({ config: redactConfig(configShape, config) }, 'configuration');
  const app = await createApp({ config, log, registry: createRegistry('provider') });
  await app.start();
  await app.http.listen({ host: config.httpHost, port: config.httpPort });
  return () => app.stop();
});
