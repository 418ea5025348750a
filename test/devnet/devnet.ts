import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AnvilServer,
  createGroupPki,
  type NatsServer,
  type PostgresServer,
  postgresBinDir,
  type RedisServer,
  startAnvil,
  startNats,
  startPostgres,
  startRedis,
  waitFor,
} from '@whitepay/testkit';
import { type Reader, readerFor, setupChain } from './chain.js';
import type { DevnetOptions } from './options.js';
import { provisionProviders } from './plan.js';
import {
  type Endpoints,
  httpPort,
  keeperServiceSpec,
  procName,
  providerSpec,
  serviceExists,
} from './services.js';
import {
  type DevnetState,
  type KeeperState,
  type Layout,
  openState,
  type ProviderState,
  SERVICES,
  type ServiceName,
  saveState,
} from './state.js';
import { Supervisor } from './supervisor.js';

export type InfraName = 'nats' | 'redis' | 'postgres';
export type ProviderFault = 'none' | 'offline' | 'slow';

/** A running local network: its state, its processes and the scenario controls. */
export interface Devnet {
  readonly options: DevnetOptions;
  readonly state: DevnetState;
  readonly layout: Layout;
  readonly endpoints: Endpoints;
  readonly supervisor: Supervisor;
  readonly reader: Reader;
  /** Keeper services this network runs (the coordinator only once it exists). */
  readonly services: readonly ServiceName[];
  /** Milliseconds from the call to everything ready. */
  readonly startupMs: number;
  keeper(id: number): KeeperState;
  provider(ref: number | string): ProviderState;
  startService(keeperId: number, s: ServiceName): Promise<void>;
  stopService(keeperId: number, s: ServiceName): Promise<void>;
  /** SIGKILL; the supervisor restarts it with backoff, as after any crash. */
  killService(keeperId: number, s: ServiceName): void;
  startKeeper(keeperId: number): Promise<void>;
  stopKeeper(keeperId: number): Promise<void>;
  providerFault(ref: number | string, mode: ProviderFault, delayMs?: number): Promise<unknown>;
  /** Deletes one of a provider's pieces (by index in its piece list, or id). */
  losePiece(ref: number | string, piece: number | string): Promise<unknown>;
  /** Sets the coordinator's test-only fault (`none`, `lie-st:<factor>`, `garbage-sig`). */
  keeperFault(keeperId: number, fault: string): Promise<unknown>;
  /** Restarts a shared server (same port and data). */
  restartInfra(name: InfraName): Promise<void>;
  stop(): Promise<void>;
}

export type Progress = (line: string) => void;

/** Whether `url` answers 2xx within 2 s (readiness probes of the network's processes). */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function ensureDatabase(pg: PostgresServer, name: string): void {
  const exists = execFileSync(
    join(postgresBinDir(), 'psql'),
    [pg.url, '-Atc', `SELECT 1 FROM pg_database WHERE datname = '${name}'`],
    { stdio: 'pipe' },
  )
    .toString()
    .trim();
  if (exists !== '1')
    execFileSync(join(postgresBinDir(), 'psql'), [pg.url, '-qc', `CREATE DATABASE ${name}`], {
      stdio: 'pipe',
    });
}

async function adminFetch(url: string, token: string, method: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/**
 * Starts (or resumes) the local network: servers, chain, keepers' services, providers, pieces. Everything
 * it starts is stopped by `stop()`; on a failure midway it stops what it started and rethrows.
 */
export async function startDevnet(options: DevnetOptions, progress: Progress = () => {}): Promise<Devnet> {
  const t0 = Date.now();
  const timed = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    progress(`${label} …`);
    const out = await run();
    progress(`${label} ✓ (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    return out;
  };
  const { state, layout, resumed } = openState(options);
  const save = () => saveState(layout, state);
  progress(
    `${resumed ? 'resuming' : 'creating'} the network in ${layout.root} (${state.keepers.length} keepers, ${state.providers.length} providers)`,
  );
  const supervisor = new Supervisor(layout.logs);
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let postgres: PostgresServer | undefined;
  let anvil: AnvilServer | undefined;
  // Reverse dependency order: rounds stop before the submitters they call, challengers before the stores
  // they write to, providers and servers last.
  const stopAll = async () => {
    const tiers: ServiceName[][] = [
      ['consensus-coordinator'],
      ['challenger'],
      ['chain-submitter', 'st-calculator'],
      ['challenge-store'],
    ];
    for (const tier of tiers)
      await Promise.all(
        state.keepers.flatMap((k) =>
          tier
            .filter((s) => supervisor.names().includes(procName(k, s)))
            .map((s) => supervisor.stop(procName(k, s))),
        ),
      );
    await supervisor.stopAll();
    await Promise.allSettled([anvil?.stop(), nats?.stop(), redis?.stop(), postgres?.stop()]);
  };
  const services = SERVICES.filter(
    (s) => s !== 'consensus-coordinator' || (options.coordinator && serviceExists(s)),
  );
  try {
    await timed('starting nats-server, redis-server, PostgreSQL and anvil (prague)', async () => {
      const accounts = Math.max(20, 1 + state.keepers.length);
      // Each server is kept as soon as it is up, so a failure of another one still stops it.
      const started = await Promise.allSettled([
        startNats({ port: state.ports.nats, storeDir: layout.nats }).then((s) => {
          nats = s;
        }),
        startRedis({ port: state.ports.redis, dir: ensureDir(layout.redis) }).then((s) => {
          redis = s;
        }),
        startPostgres({ port: state.ports.postgres, dataDir: ensureDir(layout.postgres) }).then((s) => {
          postgres = s;
        }),
        startAnvil({
          port: state.ports.anvil,
          chainId: state.chain.chainId,
          blockTime: state.chain.blockTime,
          accounts,
          statePath: layout.anvilState,
        }).then((s) => {
          anvil = s;
        }),
      ]);
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      if (!postgres) throw new Error('PostgreSQL did not start');
      for (const k of state.keepers) ensureDatabase(postgres, k.database);
    });
    const endpoints: Endpoints = {
      natsUrl: nats!.url,
      redisUrl: redis!.url,
      postgresPort: postgres!.port,
      rpcUrl: anvil!.rpcUrl,
    };
    const reader = readerFor(endpoints.rpcUrl, state.chain.chainId);
    await timed('setting up the chain (factory, Upkeeping, keepers)', () =>
      setupChain(endpoints.rpcUrl, state, save, (s) => progress(`  ${s}`)),
    );

    const waitReady = async (label: string, names: string[], urls: string[]) => {
      let ready = 0;
      const tick = setInterval(() => progress(`  ${label}: ${ready}/${urls.length} ready`), 5_000);
      try {
        await Promise.all(
          urls.map(async (url, i) => {
            await waitFor(
              `${names[i]} ready (${url}; see ${join(layout.logs, `${names[i]}.log`)})`,
              () => httpOk(url),
              180_000,
              250,
            );
            ready++;
          }),
        );
      } finally {
        clearInterval(tick);
      }
    };
    const startProcs = async (label: string, items: Array<{ name: string; url: string }>) => {
      for (const it of items) supervisor.start(it.name);
      await waitReady(
        label,
        items.map((i) => i.name),
        items.map((i) => i.url),
      );
    };

    for (const p of state.providers)
      supervisor.add(providerSpec(state, p, ensureDir(layout.provider(p.index)), options.logLevel));
    // Keepers peer over mTLS, as separate organisations do: a group CA, a certificate per keeper.
    const pki = await createGroupPki(ensureDir(join(layout.root, 'pki')));
    for (const k of state.keepers) {
      const peerTls = await pki.env('CONSENSUS_COORDINATOR', k.id, k.account);
      for (const s of services)
        supervisor.add(keeperServiceSpec(state, k, s, endpoints, options.logLevel, peerTls));
    }
    const keeperItems = (s: ServiceName) =>
      state.keepers.map((k) => ({ name: procName(k, s), url: `http://127.0.0.1:${httpPort(k, s)}/readyz` }));

    await timed(`starting ${state.providers.length} provider nodes`, () =>
      startProcs(
        'providers',
        state.providers.map((p) => ({ name: p.name, url: `http://127.0.0.1:${p.httpPort}/readyz` })),
      ),
    );
    const n = state.keepers.length;
    await timed(`starting ${n} challenge-stores (migrations)`, () =>
      startProcs('challenge-stores', keeperItems('challenge-store')),
    );
    const middle = services.filter((s) => s !== 'challenge-store' && s !== 'consensus-coordinator');
    await timed(`starting ${n} × ${middle.join(', ')}`, () =>
      startProcs(
        'services',
        middle.flatMap((s) => keeperItems(s)),
      ),
    );
    if (services.includes('consensus-coordinator')) {
      await timed(`starting ${n} consensus-coordinators`, () =>
        startProcs('coordinators', keeperItems('consensus-coordinator')),
      );
    } else {
      progress('  consensus-coordinator not started (not built yet, or --no-coordinator): no payments');
    }

    await timed('storing pieces, registering them with every keeper, adding the providers', () =>
      provisionProviders(
        endpoints.rpcUrl,
        state,
        {
          provider: (p) => `127.0.0.1:${p.grpcPort}`,
          store: (k) => `127.0.0.1:${k.ports.storeGrpc}`,
        },
        options.pieceSizes,
        save,
        () => {},
      ),
    );

    const keeper = (id: number) => {
      const k = state.keepers.find((x) => x.id === id);
      if (!k) throw new Error(`no keeper ${id} (keepers: ${state.keepers.map((x) => x.id).join(', ')})`);
      return k;
    };
    const provider = (ref: number | string) => {
      const p = state.providers.find((x) => x.index === Number(ref) || x.name === ref || x.pid === ref);
      if (!p)
        throw new Error(`no provider ${ref} (providers: ${state.providers.map((x) => x.name).join(', ')})`);
      return p;
    };
    const service = (s: ServiceName) => {
      if (!services.includes(s)) throw new Error(`no service ${s} (services: ${services.join(', ')})`);
      return s;
    };
    const infra = { nats: nats!, redis: redis!, postgres: postgres! };
    let stopped = false;
    return {
      options,
      state,
      layout,
      endpoints,
      supervisor,
      reader,
      services,
      startupMs: Date.now() - t0,
      keeper,
      provider,
      startService: async (id, s) => supervisor.start(procName(keeper(id), service(s))),
      stopService: (id, s) => supervisor.stop(procName(keeper(id), service(s))),
      killService: (id, s) => supervisor.kill(procName(keeper(id), service(s))),
      startKeeper: async (id) => {
        for (const s of services) supervisor.start(procName(keeper(id), s));
      },
      stopKeeper: async (id) => {
        await Promise.all(services.map((s) => supervisor.stop(procName(keeper(id), s))));
      },
      providerFault: (ref, mode, delayMs) =>
        adminFetch(`http://127.0.0.1:${provider(ref).httpPort}/v1/admin/faults`, state.adminToken, 'PUT', {
          mode,
          ...(delayMs === undefined ? {} : { delayMs }),
        }),
      losePiece: (ref, piece) => {
        const p = provider(ref);
        const x = p.pieces.find((q, i) => i === Number(piece) || q.pieceId === piece);
        if (!x) throw new Error(`provider ${p.name} has no piece ${piece}`);
        return adminFetch(
          `http://127.0.0.1:${p.httpPort}/v1/admin/pieces/${state.chain.user}/${x.pieceId}/lose`,
          state.adminToken,
          'POST',
        );
      },
      keeperFault: (id, fault) =>
        adminFetch(
          `http://127.0.0.1:${keeper(id).ports.coordinatorHttp}/v1/admin/fault`,
          state.adminToken,
          'PUT',
          { fault },
        ),
      restartInfra: (name) => infra[name].restart(),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
