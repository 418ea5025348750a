import { createUpkeeping, setConfig, type UpkeepingConfig, upkeepingAbi } from '@whitepay/contracts';
import type { Command } from 'commander';
import { pairs } from '../context.js';
import { parseBlocks, parseBps, parseThreshold, parseUint256 } from '../parse.js';
import type { ContextOf } from './shared.js';

interface CreateOptions {
  readonly price: bigint;
  readonly period: bigint;
  readonly window: bigint;
  readonly threshold: number;
  readonly providerBps: number;
  readonly leaderBonusBps: number;
}

/** The parameters as both commands print them (threshold 0 named as f + 1). */
function configFields(config: UpkeepingConfig) {
  return {
    price: config.price,
    period: config.period,
    window: config.window,
    threshold: config.threshold === 0 ? '0 (f + 1)' : config.threshold,
    providerBps: config.providerBps,
    leaderBonusBps: config.leaderBonusBps,
  };
}

export function userCommands(program: Command, contextOf: ContextOf): void {
  const user = program.command('user').description("a user's Upkeeping account");
  user
    .command('create')
    .description("create the signer's Upkeeping through the factory (--factory); prints its address")
    .requiredOption(
      '--price <uint>',
      'wei per byte·block, scaled by 1e18 (1e18 = 1 wei per byte·block)',
      parseUint256,
    )
    .requiredOption('--period <blocks>', 'payment period H in blocks', parseBlocks)
    .requiredOption('--window <blocks>', 'leader window T in blocks (>= 1)', parseBlocks)
    .option(
      '--threshold <n>',
      'signers a payment needs (0 = f + 1); a new Upkeeping has no keepers, so any other value is out of [f+1, n]: set it with `user config` once the keepers are added',
      parseThreshold,
      0,
    )
    .option('--provider-bps <bps>', "provider's share in basis points", parseBps, 9000)
    .option('--leader-bonus-bps <bps>', "paying keeper's bonus in basis points", parseBps, 0)
    .action(async (opts: CreateOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const factory = ctx.factory();
      const config: UpkeepingConfig = {
        price: opts.price,
        period: opts.period,
        window: opts.window,
        threshold: opts.threshold,
        providerBps: opts.providerBps,
        leaderBonusBps: opts.leaderBonusBps,
      };
      const upkeeping = await ctx.send('create Upkeeping', (w) => createUpkeeping(w, { factory, config }));
      const result = { upkeeping, user: ctx.signer(), factory, config };
      ctx.result(
        () =>
          pairs({
            upkeeping,
            user: ctx.signer(),
            factory,
            ...configFields(config),
          }),
        result,
      );
    });

  user
    .command('config')
    .description(
      "change the signer's Upkeeping parameters (setConfig, --upkeeping or through --factory): the options given replace those values, the others stay; prints the new parameters",
    )
    .option('--price <uint>', 'wei per byte·block, scaled by 1e18', parseUint256)
    .option('--period <blocks>', 'payment period H in blocks', parseBlocks)
    .option('--window <blocks>', 'leader window T in blocks (>= 1)', parseBlocks)
    .option('--threshold <n>', 'signers a payment needs: 0 = f + 1, else within [f + 1, n]', parseThreshold)
    .option('--provider-bps <bps>', "provider's share in basis points", parseBps)
    .option('--leader-bonus-bps <bps>', "paying keeper's bonus in basis points", parseBps)
    .action(async (opts: Partial<CreateOptions>, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const client = await ctx.publicClient();
      const current = await client.readContract({
        address: upkeeping,
        abi: upkeepingAbi,
        functionName: 'config',
      });
      const config: UpkeepingConfig = {
        price: opts.price ?? current.price,
        period: opts.period ?? current.period,
        window: opts.window ?? current.window,
        threshold: opts.threshold ?? current.threshold,
        providerBps: opts.providerBps ?? current.providerBps,
        leaderBonusBps: opts.leaderBonusBps ?? current.leaderBonusBps,
      };
      await ctx.send('set the Upkeeping parameters', (w) => setConfig(w, { upkeeping, config }));
      ctx.result(
        () =>
          pairs({
            upkeeping,
            ...configFields(config),
          }),
        { upkeeping, config },
      );
    });
}
