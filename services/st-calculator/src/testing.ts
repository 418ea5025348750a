// Test and benchmark helpers (not used by the service itself).
import { type Config, loadConfig } from './config.js';

export function testConfig(over: Record<string, string> = {}): Config {
  return loadConfig({
    ST_CALCULATOR_KEEPER_ID: '1',
    ST_CALCULATOR_DATABASE_URL: 'postgres://unused/unused',
    // Tests query fixed data: waiting for records still to be ingested is tested on its own.
    ST_CALCULATOR_SETTLE_WAIT_MS: '0',
    ST_CALCULATOR_PEER_SETTLE_WAIT_MS: '0',
    ...Object.fromEntries(Object.entries(over).map(([k, v]) => [`ST_CALCULATOR_${k}`, v])),
  });
}
