import { addProvider, fund, removeProvider, upkeepingAbi, withdraw } from '@whitepay/contracts';
import type { Command } from 'commander';
import { formatEther, parseEventLogs } from 'viem';
import { pairs } from '../context.js';
import { parseAddress, parseEtherAmount } from '../parse.js';
import type { ContextOf } from './shared.js';

export function providerCommands(program: Command, contextOf: ContextOf): void {
  const provider = program.command('provider').description("providers of a user's Upkeeping");
  provider
    .command('add')
    .description('add a provider; its first payment interval starts at the block of this transaction')
    .requiredOption('--pid <address>', "the provider's id: its payout address", parseAddress)
    .action(async (opts: { pid: `0x${string}` }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const receipt = await ctx.send(`add provider ${opts.pid}`, (w) =>
        addProvider(w, { upkeeping, pid: opts.pid }),
      );
      const result = {
        upkeeping,
        pid: opts.pid,
        startBlock: receipt.blockNumber,
        transaction: receipt.transactionHash,
      };
      ctx.result(() => pairs(result), result);
    });
  provider
    .command('remove')
    .description('remove a provider: no further payments; its credits stay withdrawable')
    .requiredOption('--pid <address>', "the provider's id", parseAddress)
    .action(async (opts: { pid: `0x${string}` }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const receipt = await ctx.send(`remove provider ${opts.pid}`, (w) =>
        removeProvider(w, { upkeeping, pid: opts.pid }),
      );
      const result = {
        upkeeping,
        pid: opts.pid,
        transaction: receipt.transactionHash,
        block: receipt.blockNumber,
      };
      ctx.result(() => pairs(result), result);
    });
}

export function fundCommands(program: Command, contextOf: ContextOf): void {
  program
    .command('fund')
    .description('send ether to the Upkeeping (anyone may fund; it pays providers and keepers)')
    .requiredOption('--amount <ether>', 'amount in ether, like 1 or 0.25', parseEtherAmount)
    .action(async (opts: { amount: bigint }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const receipt = await ctx.send(`fund ${formatEther(opts.amount)} ETH`, (w) =>
        fund(w, { upkeeping, value: opts.amount }),
      );
      const client = await ctx.publicClient();
      const balance = await client.getBalance({ address: upkeeping, blockNumber: receipt.blockNumber });
      const result = {
        upkeeping,
        amount: opts.amount,
        contractBalance: balance,
        transaction: receipt.transactionHash,
        block: receipt.blockNumber,
      };
      ctx.result(
        () =>
          pairs({
            upkeeping,
            amount: `${opts.amount} wei (${formatEther(opts.amount)} ETH)`,
            contractBalance: `${balance} wei (${formatEther(balance)} ETH)`,
            transaction: receipt.transactionHash,
            block: receipt.blockNumber,
          }),
        result,
      );
    });

  program
    .command('withdraw')
    .description("withdraw the signer's whole balance (provider or keeper) from the Upkeeping")
    .action(async (_opts: object, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const receipt = await ctx.send('withdraw', (w) => withdraw(w, { upkeeping }));
      const [event] = parseEventLogs({ abi: upkeepingAbi, logs: receipt.logs, eventName: 'Withdrawn' });
      const amount = event?.args.amount ?? 0n;
      const result = {
        upkeeping,
        account: ctx.signer(),
        amount,
        transaction: receipt.transactionHash,
        block: receipt.blockNumber,
      };
      ctx.result(() => pairs({ ...result, amount: `${amount} wei (${formatEther(amount)} ETH)` }), result);
    });
}
