import type { Logger } from 'pino';

/**
 * Runs a service: `start` returns a stop function; SIGTERM/SIGINT stop it
 * gracefully (bounded by `graceMs`), then the process exits.
 */
export async function runService(
  log: Logger,
  start: () => Promise<() => Promise<void>>,
  graceMs = 15_000,
): Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      log.error('graceful stop timed out');
      process.exit(1);
    }, graceMs);
    timer.unref();
    try {
      await stop?.();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'error while stopping');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  try {
    stop = await start();
    log.info('started');
  } catch (err) {
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  }
}
