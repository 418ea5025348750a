import { fromHex, g1FromEip2537, toHex } from '@whitepay/bls';
import { upkeepingAbi } from '@whitepay/contracts';
import { leaderAt, rankKeepers, type ScheduleInput, windowOf } from '@whitepay/core';
import type { Command } from 'commander';
import { type Address, formatEther, type Hex } from 'viem';
import { type Context, pairs } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { formatTable, shortHex } from '../io.js';
import { parseAddress, parseBlocks } from '../parse.js';
import type { ContextOf } from './shared.js';

interface Member {
  readonly index: number;
  readonly keeperId: number;
  readonly account: Address;
  /** EIP-2537 G1 form (128 bytes), as stored. */
  readonly publicKey: Hex;
}

/** The 48-byte compressed form (what `keeper keygen` prints as publicKeyCompressed); the raw key if invalid. */
function compressed(publicKey: Hex): Hex {
  try {
    return toHex(g1FromEip2537(fromHex(publicKey)));
  } catch {
    return publicKey;
  }
}

async function readMembers(ctx: Context, upkeeping: Address): Promise<Member[]> {
  const client = await ctx.publicClient();
  const [ids, accounts, keys] = await client.readContract({
    address: upkeeping,
    abi: upkeepingAbi,
    functionName: 'members',
  });
  return ids.map((keeperId, index) => ({
    index,
    keeperId,
    account: accounts[index]!,
    publicKey: keys[index]!,
  }));
}

async function readProviders(ctx: Context, upkeeping: Address) {
  const client = await ctx.publicClient();
  const pids = await client.readContract({
    address: upkeeping,
    abi: upkeepingAbi,
    functionName: 'providers',
  });
  return Promise.all(
    pids.map(async (pid) => {
      const [active, addedAt, nextTs] = await client.readContract({
        address: upkeeping,
        abi: upkeepingAbi,
        functionName: 'provider',
        args: [pid],
      });
      return { pid, active, addedAt, nextTs };
    }),
  );
}

/** The keeper ids whose bits are set in a payment's signer bitmap (member indices at payment time). */
function signerIds(bitmap: bigint, members: readonly Member[]): (number | null)[] {
  const out: (number | null)[] = [];
  for (let i = 0; bitmap >> BigInt(i) !== 0n; i++) {
    if ((bitmap >> BigInt(i)) & 1n) out.push(members[i]?.keeperId ?? null);
  }
  return out;
}

interface Payment {
  readonly pid: Address;
  readonly ts: bigint;
  readonly te: bigint;
  readonly st: bigint;
  readonly amount: bigint;
  readonly tid: Hex;
  readonly leaderId: number;
  readonly position: number;
  /** Bit i = member index i (in group order at payment time) signed. */
  readonly signersBitmap: bigint;
  /** Keeper ids of the set bits, by the current group (null where that index no longer exists). */
  readonly signers: (number | null)[];
}

const wei = (v: bigint) => `${v} wei (${formatEther(v)} ETH)`;

export function showCommands(program: Command, contextOf: ContextOf): void {
  const show = program
    .command('show')
    .description("read an Upkeeping's state (no key needed with --upkeeping)");

  show
    .command('config')
    .description('the parameters, the user and the funds')
    .action(async (_o: object, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const client = await ctx.publicClient();
      const read = <F extends 'config' | 'user' | 'threshold' | 'reserved' | 'unreservedBalance'>(
        functionName: F,
      ) => client.readContract({ address: upkeeping, abi: upkeepingAbi, functionName });
      const [config, user, threshold, reserved, unreserved, balance] = await Promise.all([
        read('config'),
        read('user'),
        read('threshold'),
        read('reserved'),
        read('unreservedBalance'),
        client.getBalance({ address: upkeeping }),
      ]);
      const result = {
        upkeeping,
        user,
        config,
        effectiveThreshold: threshold,
        balance,
        reserved,
        unreserved,
      };
      ctx.result(
        () =>
          pairs({
            upkeeping,
            user,
            price: config.price,
            period: config.period,
            window: config.window,
            threshold: `${threshold}${config.threshold === 0 ? ' (f + 1)' : ''}`,
            providerBps: config.providerBps,
            leaderBonusBps: config.leaderBonusBps,
            balance: wei(balance),
            reserved: wei(reserved),
            unreserved: wei(unreserved),
          }),
        result,
      );
    });

  show
    .command('members')
    .description('the keeper group: index, id, account, BLS public key (EIP-2537 G1)')
    .option('--wide', 'print whole public keys in the table')
    .action(async (opts: { wide?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const client = await ctx.publicClient();
      const [members, threshold] = await Promise.all([
        readMembers(ctx, upkeeping),
        client.readContract({ address: upkeeping, abi: upkeepingAbi, functionName: 'threshold' }),
      ]);
      ctx.result(
        () =>
          members.length === 0
            ? 'no keepers registered'
            : `${formatTable(
                [
                  'index',
                  'keeper id',
                  'account',
                  opts.wide === true ? 'public key (EIP-2537)' : 'public key (compressed)',
                ],
                members.map((m) => [
                  m.index,
                  m.keeperId,
                  m.account,
                  opts.wide === true ? m.publicKey : shortHex(compressed(m.publicKey)),
                ]),
              )}\n\n${members.length} keepers, f = ${Math.floor((members.length - 1) / 3)}, threshold ${threshold}`,
        { upkeeping, threshold, members },
      );
    });

  show
    .command('providers')
    .description('the providers: active, block added, the ts of their next payment')
    .action(async (_o: object, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const providers = await readProviders(ctx, upkeeping);
      ctx.result(
        () =>
          providers.length === 0
            ? 'no providers'
            : formatTable(
                ['provider', 'active', 'added at', 'next ts'],
                providers.map((p) => [p.pid, p.active ? 'yes' : 'no', p.addedAt, p.nextTs]),
              ),
        { upkeeping, providers },
      );
    });

  show
    .command('payments')
    .description('the last payment of each provider: ts, te, st, amount, tid, leader, signers')
    .option('--pid <address>', 'only this provider', parseAddress)
    .action(async (opts: { pid?: Address }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const client = await ctx.publicClient();
      const [providers, members] = await Promise.all([
        readProviders(ctx, upkeeping),
        readMembers(ctx, upkeeping),
      ]);
      const pids = opts.pid ? [opts.pid] : providers.map((p) => p.pid);
      const payments: Payment[] = [];
      for (const pid of pids) {
        const p = await client.readContract({
          address: upkeeping,
          abi: upkeepingAbi,
          functionName: 'lastPayment',
          args: [pid],
        });
        if (p.position === 0) continue; // never paid
        payments.push({
          pid,
          ts: p.ts,
          te: p.te,
          st: p.st,
          amount: p.amount,
          tid: p.tid,
          leaderId: p.leaderId,
          position: p.position,
          signersBitmap: p.signers,
          signers: signerIds(p.signers, members),
        });
      }
      ctx.result(
        () =>
          payments.length === 0
            ? 'no payments yet'
            : formatTable(
                ['provider', 'ts', 'te', 'st', 'amount (wei)', 'leader', 'pos', 'signers', 'tid'],
                payments.map((p) => [
                  p.pid,
                  p.ts,
                  p.te,
                  p.st,
                  p.amount,
                  p.leaderId,
                  p.position,
                  p.signers.map((s) => s ?? '?').join(','),
                  shortHex(p.tid),
                ]),
              ),
        { upkeeping, payments },
      );
    });

  show
    .command('balances')
    .description('what providers and keepers can withdraw, and the contract’s funds')
    .option(
      '--account <address>',
      'also show this account (repeatable; e.g. a removed keeper)',
      (v: string, prev: Address[]) => [...prev, parseAddress(v)],
      [] as Address[],
    )
    .action(async (opts: { account: Address[] }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const client = await ctx.publicClient();
      const [providers, members] = await Promise.all([
        readProviders(ctx, upkeeping),
        readMembers(ctx, upkeeping),
      ]);
      const parties: { role: string; keeperId: number | null; account: Address }[] = [
        ...providers.map((p) => ({ role: 'provider', keeperId: null, account: p.pid })),
        ...members.map((m) => ({ role: 'keeper', keeperId: m.keeperId, account: m.account })),
        ...opts.account.map((account) => ({ role: 'account', keeperId: null, account })),
      ];
      const [balances, contractBalance, reserved] = await Promise.all([
        Promise.all(
          parties.map(async (p) => ({
            ...p,
            balance: await client.readContract({
              address: upkeeping,
              abi: upkeepingAbi,
              functionName: 'balanceOf',
              args: [p.account],
            }),
          })),
        ),
        client.getBalance({ address: upkeeping }),
        client.readContract({ address: upkeeping, abi: upkeepingAbi, functionName: 'reserved' }),
      ]);
      const contract = { balance: contractBalance, reserved, unreserved: contractBalance - reserved };
      ctx.result(
        () =>
          `${formatTable(
            ['role', 'keeper id', 'account', 'balance (wei)', 'ETH'],
            balances.map((b) => [b.role, b.keeperId, b.account, b.balance, formatEther(b.balance)]),
          )}\n\n${pairs({
            'contract balance': wei(contract.balance),
            reserved: wei(contract.reserved),
            unreserved: wei(contract.unreserved),
          })}`,
        { upkeeping, contract, balances },
      );
    });

  show
    .command('schedule')
    .description(
      'the leader schedule of (pid, ts): positions, keepers and their windows [start, end), checked against the contract',
    )
    .option('--pid <address>', 'the provider (default: the only one)', parseAddress)
    .option('--ts <block>', "start of the interval (default: the provider's next ts)", parseBlocks)
    .action(async (opts: { pid?: Address; ts?: bigint }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const client = await ctx.publicClient();
      const providers = await readProviders(ctx, upkeeping);
      let pid = opts.pid;
      if (pid === undefined) {
        if (providers.length !== 1) {
          throw usageError(`give --pid: the Upkeeping has ${providers.length} providers`);
        }
        pid = providers[0]!.pid;
      }
      const record = providers.find((p) => p.pid === pid);
      if (opts.ts === undefined && !record) {
        throw new CliError('UNKNOWN_PROVIDER', `provider ${pid} is not registered; give --ts`, EXIT.rejected);
      }
      const ts = opts.ts ?? record!.nextTs;
      const [members, config, user, onChain, block] = await Promise.all([
        readMembers(ctx, upkeeping),
        client.readContract({ address: upkeeping, abi: upkeepingAbi, functionName: 'config' }),
        client.readContract({ address: upkeeping, abi: upkeepingAbi, functionName: 'user' }),
        client.readContract({
          address: upkeeping,
          abi: upkeepingAbi,
          functionName: 'leaderSchedule',
          args: [pid, ts],
        }),
        client.getBlockNumber({ cacheTime: 0 }),
      ]);
      if (members.length === 0) {
        throw new CliError('NO_KEEPERS', 'no keepers registered: there is no schedule', EXIT.rejected);
      }
      const input: ScheduleInput = {
        user,
        pid,
        ts,
        keepers: members.map((m) => m.keeperId),
        H: config.period,
        T: config.window,
      };
      const ranking = rankKeepers(input);
      if (ranking.length !== onChain.length || ranking.some((id, i) => id !== onChain[i])) {
        throw new CliError(
          'SCHEDULE_MISMATCH',
          `@whitepay/core ranks [${ranking.join(', ')}] but the contract's leaderSchedule is [${onChain.join(', ')}]`,
          EXIT.internal,
        );
      }
      // The leader if a round started at the current block (te = block), cross-checked as well.
      const now = leaderAt(input, block);
      const onChainPosition = await client.readContract({
        address: upkeeping,
        abi: upkeepingAbi,
        functionName: 'leaderPosition',
        args: [ts, block],
      });
      if (BigInt(now?.position ?? 0) !== onChainPosition) {
        throw new CliError(
          'SCHEDULE_MISMATCH',
          `@whitepay/core gives position ${now?.position ?? 0} at block ${block}, the contract ${onChainPosition}`,
          EXIT.internal,
        );
      }
      const cycle = now?.cycle ?? 0n;
      const byId = new Map(members.map((m) => [m.keeperId, m]));
      const schedule = ranking.map((keeperId, i) => {
        const position = i + 1;
        const w = windowOf(input, position, cycle);
        const status =
          now === null
            ? 'waiting'
            : position < now.position
              ? 'passed'
              : position === now.position
                ? 'leads now'
                : 'next';
        return {
          position,
          keeperId,
          account: byId.get(keeperId)!.account,
          start: w.start,
          end: w.end,
          status,
        };
      });
      const result = {
        upkeeping,
        pid,
        ts,
        period: config.period,
        window: config.window,
        block,
        cycle,
        leader: now ? { position: now.position, keeperId: now.keeperId, excluded: now.excluded } : null,
        checkedAgainstContract: true,
        schedule,
      };
      ctx.result(
        () =>
          `${pairs({
            provider: pid,
            ts,
            'H, T': `${config.period}, ${config.window} blocks`,
            block,
            cycle,
            leader: now
              ? `position ${now.position}, keeper ${now.keeperId}`
              : `none before block ${ts + config.period}`,
          })}\n\n${formatTable(
            ['position', 'keeper id', 'account', 'start', 'end', 'status'],
            schedule.map((s) => [s.position, s.keeperId, s.account, s.start, s.end, s.status]),
          )}\n\nwindows are [start, end) of te; ranking matches the contract's leaderSchedule`,
        result,
      );
    });
}
