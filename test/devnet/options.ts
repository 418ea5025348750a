import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is `test/devnet/options.ts`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Everything that shapes a local network; parsed once, here, from argv (and nowhere else). */
export interface DevnetOptions {
  /** Data folder: chain state, databases, streams, keys, logs, ports. */
  dataDir: string;
  /** Wipe `dataDir` first. */
  fresh: boolean;
  keepers: number;
  providers: number;
  /** First port of the deterministic port plan (recorded in `dataDir/state.json`; a resumed devnet keeps its own). */
  basePort: number;
  /** Block time in seconds (fractions allowed). */
  blockTime: number;
  /** Payment period H and leader window T, in blocks. */
  period: bigint;
  window: bigint;
  /** Upkeeping price: wei per byte·block scaled by 1e18. */
  price: bigint;
  /** Piece sizes stored in every provider (bytes). */
  pieceSizes: number[];
  /** Status view: `tty` redraws every second, `log` prints a snapshot every 10 s, `off` prints nothing. */
  status: 'auto' | 'tty' | 'log' | 'off';
  /** Services' log level. */
  logLevel: string;
  /** Start the consensus-coordinator when its `src/main.ts` exists. */
  coordinator: boolean;
}

export const DEFAULTS: DevnetOptions = {
  dataDir: join(REPO_ROOT, '.devnet'),
  fresh: false,
  keepers: 4,
  providers: 3,
  basePort: 17400,
  blockTime: 1,
  period: 20n,
  window: 10n,
  // 1 gwei per byte·block: a provider holding ~1.3 MB earns ~0.026 ETH per 20-block period.
  price: 10n ** 27n,
  pieceSizes: [64 * 1024, 256 * 1024, 1024 * 1024],
  status: 'auto',
  logLevel: 'info',
  coordinator: true,
};

export const MAX_KEEPERS = 16;
export const MAX_PROVIDERS = 8;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function int(flag: string, v: string | undefined, min: number, max: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} expects an integer in [${min}, ${max}], got ${v ?? 'nothing'}`);
  return n;
}

export const USAGE = `usage: bash scripts/devnet.sh [options]          start (or resume) the local network
       bash scripts/devnet.sh ctl <command> [args]   control a running one (see "ctl help")

options:
  --fresh              wipe the data folder first
  --keepers N          keepers (default 4, 1..${MAX_KEEPERS})
  --providers M        provider nodes (default 3, 1..${MAX_PROVIDERS})
  --data-dir DIR       data folder (default .devnet/)
  --base-port P        first port of the port plan (default 17400; a resumed network keeps its own)
  --block-time S       seconds per block (default 1)
  --period H           payment period in blocks (default 20)
  --window T           leader window in blocks (default 10)
  --status MODE        auto | tty | log | off (default auto: tty when stdout is a terminal)
  --log-level L        services' log level (default info)
  --no-coordinator     do not start the consensus-coordinator
`;

/** Parses the devnet's command line (everything after `devnet.sh`). */
export function parseOptions(argv: readonly string[], base: Partial<DevnetOptions> = {}): DevnetOptions {
  const o: DevnetOptions = { ...DEFAULTS, ...base };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--fresh':
        o.fresh = true;
        break;
      case '--keepers':
        o.keepers = int(a, next(), 1, MAX_KEEPERS);
        break;
      case '--providers':
        o.providers = int(a, next(), 1, MAX_PROVIDERS);
        break;
      case '--data-dir':
        o.dataDir = resolve(next());
        break;
      case '--base-port':
        o.basePort = int(a, next(), 1024, 65000);
        break;
      case '--block-time': {
        const v = Number(next());
        if (!(v > 0 && v <= 60)) throw new UsageError('--block-time expects seconds in (0, 60]');
        o.blockTime = v;
        break;
      }
      case '--period':
        o.period = BigInt(int(a, next(), 1, 100_000));
        break;
      case '--window':
        o.window = BigInt(int(a, next(), 1, 100_000));
        break;
      case '--status': {
        const v = next();
        if (v !== 'auto' && v !== 'tty' && v !== 'log' && v !== 'off')
          throw new UsageError('--status expects auto, tty, log or off');
        o.status = v;
        break;
      }
      case '--log-level':
        o.logLevel = next();
        break;
      case '--no-coordinator':
        o.coordinator = false;
        break;
      case '-h':
      case '--help':
        throw new UsageError(USAGE);
      default:
        throw new UsageError(`unknown option ${a}\n\n${USAGE}`);
    }
  }
  return o;
}
