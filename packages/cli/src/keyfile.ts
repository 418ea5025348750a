import { access, chmod, readFile, stat, writeFile } from 'node:fs/promises';
import {
  BlsError,
  decryptSecretKey,
  type Eip2335Keystore,
  fromHex,
  g1ToEip2537,
  g2ToEip2537,
  provePossession,
  publicKeyOf,
  toHex,
} from '@whitepay/bls';
import type { Hex } from 'viem';
import { CliError, EXIT } from './errors.js';

/** A keeper's BLS identity as the contract takes it. */
export interface BlsIdentity {
  /** G1 public key, EIP-2537 form (128 bytes). */
  readonly publicKey: Hex;
  /** G1 public key, compressed (48 bytes). */
  readonly publicKeyCompressed: Hex;
  /** Proof of possession, EIP-2537 G2 form (256 bytes). */
  readonly proofOfPossession: Hex;
}

export function identityOf(sk: Uint8Array): BlsIdentity {
  const pk = publicKeyOf(sk);
  return {
    publicKey: toHex(g1ToEip2537(pk)),
    publicKeyCompressed: toHex(pk),
    proofOfPossession: toHex(g2ToEip2537(provePossession(sk))),
  };
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined;
}

/**
 * Writes a secret file, mode 0600: a keystore (JSON) or, with `--plain`, `0x` + 64 hex digits and a
 * newline. Refuses to overwrite unless `force` (then the mode is reset to 0600 too).
 */
export async function writeSecretFile(path: string, content: string, force: boolean): Promise<void> {
  try {
    await writeFile(path, content, { mode: 0o600, flag: force ? 'w' : 'wx' });
    await chmod(path, 0o600);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'EEXIST') {
      throw new CliError('KEY_FILE_EXISTS', `${path} exists; pass --force to overwrite it`, EXIT.cantCreate);
    }
    throw new CliError('KEY_FILE_UNWRITABLE', `cannot write ${path} (${code ?? 'error'})`, EXIT.cantCreate);
  }
}

/** Refuses (`KEY_FILE_EXISTS`) when `path` exists. */
export async function assertAbsent(path: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) {
    throw new CliError('KEY_FILE_EXISTS', `${path} exists; pass --force to overwrite it`, EXIT.cantCreate);
  }
}

/** The hex form of a secret key file written with `--plain`. */
export const plainSecret = (sk: Uint8Array): string => `${toHex(sk)}\n`;

/** An EIP-2335 keystore file's text. */
export const keystoreText = (ks: Eip2335Keystore | object): string => `${JSON.stringify(ks, null, 2)}\n`;

/**
 * A passphrase file: its content less one trailing newline (as `echo` writes it), never empty. The
 * passphrase never comes from a flag (it would be in the shell history and `ps`).
 */
export async function readPassphraseFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(
      'PASSPHRASE_FILE_UNREADABLE',
      `cannot read ${path} (${errnoOf(err) ?? 'error'})`,
      EXIT.noInput,
    );
  }
  const passphrase = text.replace(/\r?\n$/, '');
  if (passphrase === '') throw new CliError('PASSPHRASE_EMPTY', `${path} is empty`, EXIT.data);
  return passphrase;
}

/**
 * Reads a BLS secret key file written by `keeper keygen`: an EIP-2335 keystore (then `passphraseFile`
 * is needed) or, written with `--plain`, hex. Warns (through `warn`) when others can read it.
 */
export async function readSecretKeyFile(
  path: string,
  warn: (line: string) => void,
  passphraseFile?: string,
): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) {
      warn(`warning: ${path} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    }
  } catch (err) {
    throw new CliError(
      'KEY_FILE_UNREADABLE',
      `cannot read ${path} (${errnoOf(err) ?? 'error'})`,
      EXIT.noInput,
    );
  }
  if (text.trimStart().startsWith('{')) {
    if (passphraseFile === undefined) {
      throw new CliError('PASSPHRASE_REQUIRED', `${path} is a keystore: give --passphrase-file`, EXIT.usage);
    }
    const passphrase = await readPassphraseFile(passphraseFile);
    try {
      return await decryptSecretKey(text, passphrase);
    } catch (err) {
      if (err instanceof BlsError)
        throw new CliError('KEY_FILE_INVALID', `${path}: ${err.message}`, EXIT.data);
      throw err;
    }
  }
  const hex = text.trim();
  const body = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]{64}$/.test(body)) {
    throw new CliError(
      'KEY_FILE_INVALID',
      `${path} is not a BLS secret key (expected 32 bytes of hex)`,
      EXIT.data,
    );
  }
  const sk = fromHex(body);
  try {
    publicKeyOf(sk);
  } catch (err) {
    if (err instanceof BlsError) {
      throw new CliError('KEY_FILE_INVALID', `${path}: ${err.message}`, EXIT.data);
    }
    throw err;
  }
  return sk;
}
