// The network plan as commands, for a keeper group that does not run on this
// machine's loopback (k8s/staging.sh on kind; test/chart runs the same
// commands). Every command reads and updates one plan file.
//
//   plan-cli.ts chain     --plan F --rpc URL [--keepers N] [--providers M] [--period H] [--window T]
//   plan-cli.ts group     --plan F --out group.yaml --peer TEMPLATE --provider-address HOST:PORT
//   plan-cli.ts keys      --plan F --keeper ID --out FILE      (an env file for kubectl --from-env-file)
//   plan-cli.ts provision --plan F --rpc URL --provider-address HOST:PORT --store ID=HOST:PORT[,…]
//   plan-cli.ts wait      --plan F --rpc URL [--payments N] [--timeout S]
//
// `--peer` is the consensus-coordinator address of a keeper as the others reach it, with `{id}` for its
// keeper id (e.g. `keeper-{id}-whitepay-keeper-consensus-coordinator:50051`).
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { readerFor } from './chain.js';
import {
  groupValues,
  keeperSecrets,
  loadPlan,
  newPlan,
  provisionProviders,
  savePlan,
  setupPlanChain,
} from './plan.js';
import { PaymentLog } from './status.js';

const say = (s: string) => process.stdout.write(`[plan] ${s}\n`);

export async function planCli(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  const { values: o } = parseArgs({
    args: rest,
    options: {
      plan: { type: 'string' },
      rpc: { type: 'string' },
      keepers: { type: 'string', default: '4' },
      providers: { type: 'string', default: '3' },
      period: { type: 'string', default: '20' },
      window: { type: 'string', default: '10' },
      out: { type: 'string' },
      peer: { type: 'string' },
      'provider-address': { type: 'string' },
      keeper: { type: 'string' },
      store: { type: 'string' },
      payments: { type: 'string', default: '2' },
      timeout: { type: 'string', default: '600' },
    },
  });
  const need = (k: keyof typeof o): string => {
    const v = o[k];
    if (typeof v !== 'string' || v === '') throw new Error(`plan-cli ${cmd}: --${k} is required`);
    return v;
  };
  const planPath = need('plan');
  const save = (state: ReturnType<typeof loadPlan>) => () => savePlan(planPath, state);
  switch (cmd) {
    case 'chain': {
      const state = existsSync(planPath)
        ? loadPlan(planPath)
        : newPlan({
            keepers: Number(o.keepers),
            providers: Number(o.providers),
            blockTime: 1,
            period: BigInt(o.period!),
            window: BigInt(o.window!),
            price: 10n ** 27n,
          });
      savePlan(planPath, state);
      await setupPlanChain(need('rpc'), state, save(state), say);
      say(
        `factory ${state.chain.factory} (block ${state.chain.factoryBlock}), upkeeping ${state.chain.upkeeping}`,
      );
      return;
    }
    case 'group': {
      const state = loadPlan(planPath);
      const peer = need('peer');
      const values = groupValues(state, {
        peer: (k) => peer.replaceAll('{id}', String(k.id)),
        providers: [{ pid: '*', address: need('provider-address') }],
      });
      writeFileSync(need('out'), stringify(values));
      say(`group file ${o.out}: ${state.keepers.length} keepers, chain ${state.chain.factory}`);
      return;
    }
    case 'keys': {
      const state = loadPlan(planPath);
      const k = state.keepers.find((x) => String(x.id) === need('keeper'));
      if (!k) throw new Error(`plan-cli keys: no keeper ${o.keeper} in the plan`);
      const env = Object.entries(keeperSecrets(state, k)).map(([key, v]) => `${key}=${v}`);
      writeFileSync(need('out'), `${env.join('\n')}\n`, { mode: 0o600 });
      return;
    }
    case 'provision': {
      const state = loadPlan(planPath);
      const stores = new Map(
        need('store')
          .split(',')
          .map((e) => e.split('=') as [string, string]),
      );
      const provider = need('provider-address');
      await provisionProviders(
        need('rpc'),
        state,
        {
          provider: () => provider,
          store: (k) => {
            const a = stores.get(String(k.id));
            if (!a) throw new Error(`plan-cli provision: no --store address for keeper ${k.id}`);
            return a;
          },
        },
        [64 * 1024, 256 * 1024, 1024 * 1024],
        save(state),
        say,
      );
      return;
    }
    case 'wait': {
      const state = loadPlan(planPath);
      const net = { state, reader: readerFor(need('rpc'), state.chain.chainId) };
      const log = new PaymentLog(net);
      const want = Number(o.payments);
      const deadline = Date.now() + Number(o.timeout) * 1000;
      let seen = 0;
      for (;;) {
        const all = await log.poll();
        for (const x of all.slice(seen))
          say(
            `paid ${x.pid} [${x.ts},${x.te}) st=${x.st} amount=${x.amount} by keeper ${x.leaderId} (position ${x.position})`,
          );
        seen = all.length;
        const counts = state.providers.map(
          (p) => all.filter((x) => x.pid.toLowerCase() === p.pid.toLowerCase()).length,
        );
        if (counts.every((c) => c >= want)) {
          say(`every provider paid ${want} times (${all.length} payments)`);
          return;
        }
        if (Date.now() > deadline)
          throw new Error(`payments per provider ${counts.join('/')} after ${o.timeout} s, want ${want}`);
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
    default:
      throw new Error(`plan-cli: unknown command ${cmd ?? '(none)'}: chain, group, keys, provision or wait`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  planCli(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`plan-cli: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
