import { deployFactory } from '@whitepay/contracts';
import type { Command } from 'commander';
import { getAddress } from 'viem';
import { pairs } from '../context.js';
import type { ContextOf } from './shared.js';

export function factoryCommands(program: Command, contextOf: ContextOf): void {
  const factory = program.command('factory').description('the UpkeepingFactory');
  factory
    .command('deploy')
    .description('deploy an UpkeepingFactory (and with it the Upkeeping implementation); prints its address')
    .action(async (_opts: object, cmd: Command) => {
      const ctx = contextOf(cmd);
      const address = await ctx.send('deploy UpkeepingFactory', (w) => deployFactory(w));
      const client = await ctx.publicClient();
      const result = { factory: getAddress(address), chainId: client.chain.id };
      ctx.result(() => pairs(result), result);
    });
}
