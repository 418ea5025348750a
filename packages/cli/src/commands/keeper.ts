import {
  encryptSecretKey,
  fromHex,
  generateSecretKey,
  MIN_SEED_LENGTH,
  secretKeyFromSeed,
  toHex,
} from '@whitepay/bls';
import { addKeeper, removeKeeper } from '@whitepay/contracts';
import { encryptPrivateKey } from '@whitepay/ecdsa';
import type { Command } from 'commander';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { pairs } from '../context.js';
import { usageError } from '../errors.js';
import {
  assertAbsent,
  identityOf,
  keystoreText,
  plainSecret,
  readPassphraseFile,
  readSecretKeyFile,
  writeSecretFile,
} from '../keyfile.js';
import { parseAddress, parseHexBytes, parseKeeperId } from '../parse.js';
import type { ContextOf } from './shared.js';

interface KeygenOptions {
  readonly seed?: Hex;
  readonly out: string;
  readonly passphraseFile?: string;
  readonly plain?: boolean;
  readonly account?: boolean;
  readonly accountOut: string;
  readonly force?: boolean;
  readonly showSecret?: boolean;
}

interface RegisterOptions {
  readonly id: number;
  readonly address: Address;
  readonly blsKeyFile?: string;
  readonly passphraseFile?: string;
  readonly publicKey?: Hex;
  readonly pop?: Hex;
}

export const DEFAULT_KEY_FILE = 'keeper-bls.json';
export const DEFAULT_ACCOUNT_FILE = 'keeper-account.json';

export function keeperCommands(program: Command, contextOf: ContextOf): void {
  const keeper = program.command('keeper').description("keepers of a user's group");

  keeper
    .command('keygen')
    .description(
      'make a BLS secret key as an EIP-2335 keystore (mode 0600; --plain: hex) and, with --account, the transaction key as a V3 keystore; prints the public key (EIP-2537), its proof of possession and the account',
    )
    .option(
      '--seed <hex>',
      `derive the BLS key from a seed (>= ${MIN_SEED_LENGTH} bytes; tests and devnets only)`,
      parseHexBytes({ min: MIN_SEED_LENGTH }, 'a seed'),
    )
    .option('--out <file>', 'where to write the BLS key', DEFAULT_KEY_FILE)
    .option('--passphrase-file <file>', "the keystores' passphrase (its content less one trailing newline)")
    .option('--plain', 'write the keys as hex instead of keystores (tests and devnets only)')
    .option('--account', 'also make the secp256k1 transaction key (the keeper account)')
    .option('--account-out <file>', 'where to write the account key', DEFAULT_ACCOUNT_FILE)
    .option('--force', 'overwrite the files if they exist')
    .option('--show-secret', 'also print the secret keys (they are always written to the files)')
    .action(async (opts: KeygenOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (opts.plain === true && opts.passphraseFile !== undefined) {
        throw usageError('give either --plain or --passphrase-file, not both');
      }
      if (opts.plain !== true && opts.passphraseFile === undefined) {
        throw usageError('give --passphrase-file (keystores), or --plain for hex key files');
      }
      const passphrase =
        opts.passphraseFile === undefined
          ? undefined
          : await readPassphraseFile(ctx.path(opts.passphraseFile));
      const sk = opts.seed === undefined ? generateSecretKey() : secretKeyFromSeed(fromHex(opts.seed));
      const file = ctx.path(opts.out);
      // Both files or neither: refuse before writing the first when the second exists.
      if (opts.force !== true) {
        await assertAbsent(file);
        if (opts.account === true) await assertAbsent(ctx.path(opts.accountOut));
      }
      await writeSecretFile(
        file,
        passphrase === undefined ? plainSecret(sk) : keystoreText(await encryptSecretKey(sk, passphrase)),
        opts.force === true,
      );
      let account: { accountKeyFile: string; account: Address; accountKey?: Hex } | undefined;
      if (opts.account === true) {
        const key = generatePrivateKey();
        const accountFile = ctx.path(opts.accountOut);
        await writeSecretFile(
          accountFile,
          passphrase === undefined ? `${key}\n` : keystoreText(await encryptPrivateKey(key, passphrase)),
          opts.force === true,
        );
        account = {
          accountKeyFile: accountFile,
          account: privateKeyToAddress(key),
          ...(opts.showSecret === true ? { accountKey: key } : {}),
        };
      }
      const id = identityOf(sk);
      const result = {
        secretKeyFile: file,
        format: passphrase === undefined ? 'hex' : 'eip-2335',
        ...id,
        ...(opts.showSecret === true ? { secretKey: toHex(sk) } : {}),
        ...account,
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
    .option(
      '--bls-key-file <file>',
      'BLS key file from `keeper keygen`, keystore or hex (the PoP is computed from it)',
    )
    .option('--passphrase-file <file>', 'the passphrase of a keystore --bls-key-file')
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
        const sk = await readSecretKeyFile(
          ctx.path(opts.blsKeyFile),
          (line) => ctx.io.stderr.write(`${line}\n`),
          opts.passphraseFile === undefined ? undefined : ctx.path(opts.passphraseFile),
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
