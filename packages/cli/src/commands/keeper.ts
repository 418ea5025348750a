import { fromHex, generateSecretKey, MIN_SEED_LENGTH, secretKeyFromSeed, toHex } from '@whitepay/bls';
import { addKeeper, removeKeeper } from '@whitepay/contracts';
import type { Command } from 'commander';
import type { Address, Hex } from 'viem';
import { pairs } from '../context.js';
import { usageError } from '../errors.js';
import { identityOf, readSecretKeyFile, writeSecretKeyFile } from '../keyfile.js';
import { parseAddress, parseHexBytes, parseKeeperId } from '../parse.js';
import type { ContextOf } from './shared.js';

interface KeygenOptions {
  readonly seed?: Hex;
  readonly out: string;
  readonly force?: boolean;
  readonly showSecret?: boolean;
}

interface RegisterOptions {
  readonly id: number;
  readonly address: Address;
  readonly blsKeyFile?: string;
  readonly publicKey?: Hex;
  readonly pop?: Hex;
}

export const DEFAULT_KEY_FILE = 'keeper-bls.key';

export function keeperCommands(program: Command, contextOf: ContextOf): void {
  const keeper = program.command('keeper').description("keepers of a user's group");

  keeper
    .command('keygen')
    .description(
      'make a BLS secret key (file, mode 0600); prints the public key (EIP-2537) and its proof of possession',
    )
    .option(
      '--seed <hex>',
      `derive the key from a seed (>= ${MIN_SEED_LENGTH} bytes; tests and devnets only)`,
      parseHexBytes({ min: MIN_SEED_LENGTH }, 'a seed'),
    )
    .option('--out <file>', 'where to write the secret key', DEFAULT_KEY_FILE)
    .option('--force', 'overwrite --out if it exists')
    .option('--show-secret', 'also print the secret key (it is always written to --out)')
    .action(async (opts: KeygenOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const sk = opts.seed === undefined ? generateSecretKey() : secretKeyFromSeed(fromHex(opts.seed));
      const file = ctx.path(opts.out);
      await writeSecretKeyFile(file, sk, opts.force === true);
      const id = identityOf(sk);
      const result = {
        secretKeyFile: file,
        ...id,
        ...(opts.showSecret === true ? { secretKey: toHex(sk) } : {}),
      };
      ctx.result(() => pairs(result), result);
    });

  keeper
    .command('register')
    .description("add a keeper to the signer's Upkeeping (the signer must be its user)")
    .requiredOption('--id <keeperId>', 'keeper id (uint32, unique in the group)', parseKeeperId)
    .requiredOption(
      '--address <address>',
      "the keeper's account (it submits payments and withdraws)",
      parseAddress,
    )
    .option('--bls-key-file <file>', 'secret key file from `keeper keygen` (the PoP is computed from it)')
    .option(
      '--public-key <hex>',
      'instead of a key file: the EIP-2537 G1 public key (128 bytes)',
      parseHexBytes(128, 'an EIP-2537 G1 public key'),
    )
    .option(
      '--pop <hex>',
      'with --public-key: the proof of possession (EIP-2537 G2, 256 bytes)',
      parseHexBytes(256, 'an EIP-2537 G2 proof of possession'),
    )
    .action(async (opts: RegisterOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      let publicKey: Hex;
      let proofOfPossession: Hex;
      if (opts.blsKeyFile !== undefined) {
        if (opts.publicKey !== undefined || opts.pop !== undefined) {
          throw usageError('give either --bls-key-file or --public-key with --pop, not both');
        }
        const sk = await readSecretKeyFile(ctx.path(opts.blsKeyFile), (line) =>
          ctx.io.stderr.write(`${line}\n`),
        );
        ({ publicKey, proofOfPossession } = identityOf(sk));
      } else if (opts.publicKey !== undefined && opts.pop !== undefined) {
        publicKey = opts.publicKey;
        proofOfPossession = opts.pop;
      } else {
        throw usageError('give --bls-key-file, or both --public-key and --pop');
      }
      const upkeeping = await ctx.upkeeping();
      const receipt = await ctx.send(`register keeper ${opts.id}`, (w) =>
        addKeeper(w, { upkeeping, keeperId: opts.id, account: opts.address, publicKey, proofOfPossession }),
      );
      const result = {
        upkeeping,
        keeperId: opts.id,
        account: opts.address,
        publicKey,
        transaction: receipt.transactionHash,
        block: receipt.blockNumber,
      };
      ctx.result(() => pairs(result), result);
    });

  keeper
    .command('remove')
    .description('remove a keeper (its accrued shares stay withdrawable)')
    .requiredOption('--id <keeperId>', 'keeper id', parseKeeperId)
    .action(async (opts: { id: number }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const upkeeping = await ctx.upkeeping();
      const receipt = await ctx.send(`remove keeper ${opts.id}`, (w) =>
        removeKeeper(w, { upkeeping, keeperId: opts.id }),
      );
      const result = {
        upkeeping,
        keeperId: opts.id,
        transaction: receipt.transactionHash,
        block: receipt.blockNumber,
      };
      ctx.result(() => pairs(result), result);
    });
}
