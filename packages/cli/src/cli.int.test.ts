/**
 * The whole operator flow through `run(argv, io)` against a real anvil (Prague): deploy a factory, create a
 * user's Upkeeping, generate and register four keepers, add a provider, fund, inspect, have the leader pay
 * one interval with a real aggregate BLS signature (through @whitepay/contracts' `pay`), inspect the
 * payment and balances, withdraw everything. Then the error paths and the real binary as a subprocess.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aggregateSignatures, decryptSecretKey, g2ToEip2537, sign, toHex } from '@whitepay/bls';
import { pay, readGroup, upkeepingOf } from '@whitepay/contracts';
import { batchPaymentMessage, leaderAt, rankKeepers, splitReward, tid } from '@whitepay/core';
import { ANVIL_MNEMONIC, type AnvilServer, freePort, startAnvil } from '@whitepay/testkit';
import {
  type Address,
  createTestClient,
  createWalletClient,
  defineChain,
  getAddress,
  type Hex,
  hexToBytes,
  http,
} from 'viem';
import { type HDAccount, mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from './errors.js';
import { run } from './run.js';

const PERIOD = 10n;
const WINDOW = 5n;
const KEEPER_IDS = [101, 102, 103, 104];

let anvil: AnvilServer;
let dir: string;
const accounts: HDAccount[] = Array.from({ length: 12 }, (_, i) =>
  mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i }),
);
const keyOf = (i: number): Hex => toHex(accounts[i]!.getHdKey().privateKey!);
const user = accounts[0]!;
const keeperAccount = (id: number) => accounts[id - 100]!; // 101 → account 1, …
const provider = accounts[10]!;
/** Everything every run printed, to prove no private key is ever echoed. */
const printed: string[] = [];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process as account `signer` (0 = the user). */
async function cli(argv: string[], opts: { signer?: number | null; env?: Record<string, string> } = {}) {
  let stdout = '';
  let stderr = '';
  const signer = opts.signer === undefined ? 0 : opts.signer;
  const env: Record<string, string> = {
    WHITEPAY_RPC_URL: anvil.rpcUrl,
    ...(signer === null ? {} : { WHITEPAY_PRIVATE_KEY: keyOf(signer) }),
    ...opts.env,
  };
  const code = await run(['--poll-interval', '50', ...argv], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
    cwd: dir,
  });
  printed.push(stdout, stderr);
  return { code, stdout, stderr } satisfies Result;
}

/** Runs with --json and parses stdout; fails the test with stderr when the exit code is not 0. */
async function cliJson<T = Record<string, unknown>>(argv: string[], opts?: Parameters<typeof cli>[1]) {
  const r = await cli(['--json', ...argv], opts);
  expect(r.stderr.includes('error'), r.stderr).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 12 });
  dir = await mkdtemp(join(tmpdir(), 'whitepay-cli-'));
});

afterAll(async () => {
  await anvil?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('whitepay: full flow on anvil', () => {
  let factory: Address;
  let upkeeping: Address;
  let ts0: bigint;
  const keys = new Map<number, { file: string; publicKey: Hex; pop: Hex }>();
  let paid: { ts: bigint; te: bigint; st: bigint; leaderId: number; signers: number[] };

  it('factory deploy prints the factory address', async () => {
    const out = await cliJson<{ factory: Address; chainId: number }>(['factory', 'deploy']);
    expect(out.factory).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(out.chainId).toBe(anvil.chainId);
    factory = out.factory;
  });

  it('user create makes the user’s Upkeeping through the factory', async () => {
    const r = await cli([
      '--factory',
      factory,
      'user',
      'create',
      '--price',
      '1e18',
      '--period',
      String(PERIOD),
      '--window',
      String(WINDOW),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('upkeeping'));
    upkeeping = line!.split(/\s+/)[1] as Address;
    expect(r.stderr).toMatch(/create Upkeeping: confirmed \(\d+ ms\)/);
    const wallet = createWalletClient({
      account: user,
      transport: http(anvil.rpcUrl),
      chain: defineChain({
        id: anvil.chainId,
        name: 'anvil',
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [anvil.rpcUrl] } },
      }),
    });
    expect(await upkeepingOf(wallet, { factory, user: user.address })).toBe(upkeeping);
    const config = await cliJson<{ config: { period: string; window: string }; effectiveThreshold: string }>([
      '--upkeeping',
      upkeeping,
      'show',
      'config',
    ]);
    expect(config.config.period).toBe('10');
    expect(config.config.window).toBe('5');
    expect(config.effectiveThreshold).toBe('1'); // f + 1 with no keepers yet
  });

  it('keeper keygen writes 0600 keystores (EIP-2335 BLS key, V3 account key) and prints only public data', async () => {
    await writeFile(join(dir, 'pass.txt'), 'keeper passphrase\n', { mode: 0o600 });
    for (const id of KEEPER_IDS) {
      const seed = toHex(new Uint8Array(32).fill(id));
      const out = await cliJson<{
        secretKeyFile: string;
        format: string;
        publicKey: Hex;
        publicKeyCompressed: Hex;
        proofOfPossession: Hex;
        accountKeyFile: string;
        account: Address;
      }>([
        'keeper',
        'keygen',
        '--seed',
        seed,
        '--out',
        `k${id}.json`,
        '--passphrase-file',
        'pass.txt',
        '--account',
        '--account-out',
        `k${id}-account.json`,
      ]);
      expect(out.secretKeyFile).toBe(join(dir, `k${id}.json`));
      expect(out.format).toBe('eip-2335');
      expect(hexToBytes(out.publicKey)).toHaveLength(128);
      expect(hexToBytes(out.proofOfPossession)).toHaveLength(256);
      expect('secretKey' in out || 'accountKey' in out).toBe(false);
      const ks = JSON.parse(await readFile(out.secretKeyFile, 'utf8')) as {
        version: number;
        pubkey: string;
        crypto: { kdf: { function: string } };
      };
      expect(ks.version).toBe(4);
      expect(ks.crypto.kdf.function).toBe('scrypt');
      expect(`0x${ks.pubkey}`).toBe(out.publicKeyCompressed);
      expect((await stat(out.secretKeyFile)).mode & 0o777).toBe(0o600);
      const v3 = JSON.parse(await readFile(out.accountKeyFile, 'utf8')) as {
        version: number;
        address: string;
      };
      expect(v3.version).toBe(3);
      expect(getAddress(`0x${v3.address}`)).toBe(out.account);
      expect((await stat(out.accountKeyFile)).mode & 0o777).toBe(0o600);
      keys.set(id, { file: out.secretKeyFile, publicKey: out.publicKey, pop: out.proofOfPossession });
    }
    // Same seed, same key; an existing file is not overwritten without --force.
    const again = await cli([
      'keeper',
      'keygen',
      '--seed',
      toHex(new Uint8Array(32).fill(101)),
      '--out',
      'k101.json',
      '--passphrase-file',
      'pass.txt',
    ]);
    expect(again.code).toBe(EXIT.cantCreate);
    expect(again.stderr).toContain('KEY_FILE_EXISTS');
    // --plain writes hex, and --show-secret prints it.
    const shown = await cliJson<{ secretKey: Hex; publicKey: Hex; format: string }>([
      'keeper',
      'keygen',
      '--seed',
      toHex(new Uint8Array(32).fill(101)),
      '--out',
      'k101.key',
      '--plain',
      '--show-secret',
    ]);
    expect(shown.format).toBe('hex');
    expect(shown.publicKey).toBe(keys.get(101)!.publicKey);
    expect(shown.secretKey).toBe((await readFile(join(dir, 'k101.key'), 'utf8')).trim());
    // A keystore needs a passphrase: none is a usage error, never a silent plain key.
    const none = await cli(['keeper', 'keygen', '--out', 'nopass.json']);
    expect(none.code).toBe(EXIT.usage);
    expect(none.stderr).toContain('--passphrase-file');
  });

  it('keeper register computes the PoP from the key file and adds the keeper', async () => {
    for (const id of KEEPER_IDS) {
      const r = await cli([
        '--upkeeping',
        upkeeping,
        'keeper',
        'register',
        '--id',
        String(id),
        '--address',
        keeperAccount(id).address,
        '--bls-key-file',
        `k${id}.json`,
        '--passphrase-file',
        'pass.txt',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`keeperId\\s+${id}`));
      expect(r.stderr).toMatch(new RegExp(`register keeper ${id}: confirmed in block`));
    }
  });

  it('keeper register refuses a keystore without its passphrase, or with a wrong one', async () => {
    const base = [
      '--upkeeping',
      upkeeping,
      'keeper',
      'register',
      '--id',
      '106',
      '--address',
      accounts[9]!.address,
    ];
    const missing = await cli([...base, '--bls-key-file', 'k101.json']);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain('PASSPHRASE_REQUIRED');
    await writeFile(join(dir, 'wrong.txt'), 'not it\n');
    const wrong = await cli([...base, '--bls-key-file', 'k101.json', '--passphrase-file', 'wrong.txt']);
    expect(wrong.code).toBe(EXIT.data);
    expect(wrong.stderr).toContain('wrong passphrase');
  });

  it('keeper register with a duplicate id exits 2 naming UpkeepingDuplicateKeeperId', async () => {
    const r = await cli([
      '--upkeeping',
      upkeeping,
      'keeper',
      'register',
      '--id',
      '101',
      '--address',
      accounts[9]!.address,
      '--bls-key-file',
      'k102.json',
      '--passphrase-file',
      'pass.txt',
    ]);
    expect(r.code).toBe(EXIT.rejected);
    expect(r.stderr).toContain('UpkeepingDuplicateKeeperId');
    expect(r.stderr).toContain('keeper id 101 is already registered');
    expect(r.stderr.trim().split('\n')).toHaveLength(2); // the progress line and one error line, no stack
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('keeper register with a proof of possession of another key exits 2 naming the error', async () => {
    const a = await cliJson<{ publicKey: Hex }>(['keeper', 'keygen', '--out', 'a.key', '--plain']);
    const b = await cliJson<{ proofOfPossession: Hex }>(['keeper', 'keygen', '--out', 'b.key', '--plain']);
    const r = await cli([
      '--upkeeping',
      upkeeping,
      'keeper',
      'register',
      '--id',
      '105',
      '--address',
      accounts[9]!.address,
      '--public-key',
      a.publicKey,
      '--pop',
      b.proofOfPossession,
    ]);
    expect(r.code).toBe(EXIT.rejected);
    expect(r.stderr).toContain('UpkeepingInvalidProofOfPossession');
    // The same with --json: a JSON error on stderr.
    const j = await cli([
      '--json',
      '--upkeeping',
      upkeeping,
      'keeper',
      'register',
      '--id',
      '105',
      '--address',
      accounts[9]!.address,
      '--public-key',
      a.publicKey,
      '--pop',
      b.proofOfPossession,
    ]);
    expect(j.code).toBe(EXIT.rejected);
    const last = j.stderr.trim().split('\n').slice(1).join('\n');
    expect(JSON.parse(last).error).toMatchObject({ code: 'UpkeepingInvalidProofOfPossession', exitCode: 2 });
  });

  it('a non-user cannot register: UpkeepingUnauthorized', async () => {
    const r = await cli(
      [
        '--upkeeping',
        upkeeping,
        'keeper',
        'register',
        '--id',
        '106',
        '--address',
        accounts[9]!.address,
        '--bls-key-file',
        'a.key',
      ],
      { signer: 5 },
    );
    expect(r.code).toBe(EXIT.rejected);
    expect(r.stderr).toContain('UpkeepingUnauthorized');
  });

  it('provider add and fund', async () => {
    // --upkeeping omitted: found through --factory for the signer (the user).
    const added = await cliJson<{ startBlock: string; pid: Address }>([
      '--factory',
      factory,
      'provider',
      'add',
      '--pid',
      provider.address,
    ]);
    expect(added.pid).toBe(provider.address);
    ts0 = BigInt(added.startBlock);
    const funded = await cliJson<{ amount: string; contractBalance: string }>([
      '--upkeeping',
      upkeeping,
      'fund',
      '--amount',
      '1.5',
    ]);
    expect(funded.amount).toBe('1500000000000000000');
    expect(funded.contractBalance).toBe('1500000000000000000');
  });

  it('show members lists ids, accounts and keys (table and JSON)', async () => {
    const out = await cliJson<{
      threshold: string;
      members: { index: number; keeperId: number; account: Address; publicKey: Hex }[];
    }>(['--upkeeping', upkeeping, 'show', 'members'], { signer: null });
    expect(out.threshold).toBe('2'); // n = 4 → f = 1 → f + 1
    expect(out.members.map((m) => m.keeperId)).toEqual(KEEPER_IDS);
    for (const m of out.members) {
      expect(m.account).toBe(keeperAccount(m.keeperId).address);
      expect(m.publicKey).toBe(keys.get(m.keeperId)!.publicKey);
    }
    const table = await cli(['--upkeeping', upkeeping, 'show', 'members'], { signer: null });
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^index\s+keeper id\s+account\s+public key \(compressed\)$/);
    // Aligned: every row's account column starts where the header's does.
    const col = lines[0]!.indexOf('account');
    for (const line of lines.slice(1, 5)) expect(line.slice(col, col + 2)).toBe('0x');
    expect(table.stdout).toContain('4 keepers, f = 1, threshold 2');
  });

  it('user config sets the threshold within [f + 1, n] and keeps the other parameters; out of range is refused', async () => {
    const before = await cliJson<{ config: { price: string; period: string; window: string } }>(
      ['--upkeeping', upkeeping, 'show', 'config'],
      { signer: null },
    );
    const set = await cliJson<{ config: { threshold: number; price: string; period: string } }>([
      '--upkeeping',
      upkeeping,
      'user',
      'config',
      '--threshold',
      '4',
    ]);
    expect(set.config.threshold).toBe(4);
    const after = await cliJson<{
      effectiveThreshold: string;
      config: { price: string; period: string; window: string };
    }>(['--upkeeping', upkeeping, 'show', 'config'], { signer: null });
    expect(after.effectiveThreshold).toBe('4');
    expect(after.config).toEqual({ ...before.config, threshold: 4 });
    // n = 4: 5 is above n, 1 below f + 1.
    for (const t of ['5', '1']) {
      const r = await cli(['--upkeeping', upkeeping, 'user', 'config', '--threshold', t]);
      expect(r.code).toBe(EXIT.rejected);
      expect(r.stderr).toContain('UpkeepingThresholdOutOfRange');
    }
    // Back to the default (f + 1) for the payments below.
    const reset = await cliJson<{ config: { threshold: number } }>([
      '--upkeeping',
      upkeeping,
      'user',
      'config',
      '--threshold',
      '0',
    ]);
    expect(reset.config.threshold).toBe(0);
  });

  it('show providers and show payments (none yet)', async () => {
    const out = await cliJson<{
      providers: { pid: Address; active: boolean; addedAt: string; nextTs: string }[];
    }>(['--upkeeping', upkeeping, 'show', 'providers']);
    expect(out.providers).toEqual([
      { pid: provider.address, active: true, addedAt: String(ts0), nextTs: String(ts0) },
    ]);
    const payments = await cliJson<{ payments: unknown[] }>(['--upkeeping', upkeeping, 'show', 'payments']);
    expect(payments.payments).toEqual([]);
    const human = await cli(['--upkeeping', upkeeping, 'show', 'payments']);
    expect(human.stdout.trim()).toBe('no payments yet');
  });

  it('show schedule ranks the keepers like @whitepay/core and the contract, with each window', async () => {
    const out = await cliJson<{
      ts: string;
      checkedAgainstContract: boolean;
      leader: unknown;
      schedule: { position: number; keeperId: number; start: string; end: string }[];
    }>(['--upkeeping', upkeeping, 'show', 'schedule', '--pid', provider.address]);
    expect(out.ts).toBe(String(ts0));
    expect(out.checkedAgainstContract).toBe(true);
    expect(out.leader).toBeNull(); // the current block is before ts + H
    const ranking = rankKeepers({ user: user.address, pid: provider.address, ts: ts0, keepers: KEEPER_IDS });
    expect(out.schedule.map((s) => s.keeperId)).toEqual(ranking);
    out.schedule.forEach((s, i) => {
      expect(s.position).toBe(i + 1);
      expect(BigInt(s.start)).toBe(ts0 + PERIOD + BigInt(i) * WINDOW);
      expect(BigInt(s.end)).toBe(ts0 + PERIOD + BigInt(i + 1) * WINDOW);
    });
    // Human form: --pid defaults to the only provider, --ts to its next ts.
    const human = await cli(['--upkeeping', upkeeping, 'show', 'schedule']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/position\s+keeper id\s+account\s+start\s+end\s+status/);
    expect(human.stdout).toContain(`leader    none before block ${ts0 + PERIOD}`);
  });

  it('the leader pays one interval with an aggregate BLS signature (contracts.pay)', async () => {
    const chain = defineChain({
      id: anvil.chainId,
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    });
    const transport = http(anvil.rpcUrl);
    const input = {
      user: user.address,
      pid: provider.address,
      ts: ts0,
      keepers: KEEPER_IDS,
      H: PERIOD,
      T: WINDOW,
    };
    const te = ts0 + PERIOD + WINDOW + 1n; // position 2's window: position 1 is excluded
    await createTestClient({ chain, transport, mode: 'anvil' }).mine({ blocks: 30 });
    const slot = leaderAt(input, te)!;
    expect(slot.position).toBe(2);
    const st = 1_000_003n;
    // A payment of one is a batch of one: `pay` verifies the batch message over its one entry.
    const message = batchPaymentMessage({
      chainId: BigInt(anvil.chainId),
      upkeeping,
      user: user.address,
      leaderId: slot.keeperId,
      entries: [{ pid: provider.address, ts: ts0, te, st }],
    });
    const signerIds = [101, 103]; // member indices 0 and 2; threshold 2
    const sks = await Promise.all(
      signerIds.map(async (id) =>
        decryptSecretKey(await readFile(keys.get(id)!.file, 'utf8'), 'keeper passphrase'),
      ),
    );
    const signature = toHex(g2ToEip2537(aggregateSignatures(sks.map((sk) => sign(sk, hexToBytes(message))))));
    const leader = createWalletClient({
      chain,
      transport,
      account: keeperAccount(slot.keeperId),
      pollingInterval: 50,
    });
    const receipt = await pay(leader, {
      upkeeping,
      pid: provider.address,
      ts: ts0,
      te,
      st,
      leaderId: slot.keeperId,
      group: await readGroup(leader, { upkeeping }),
      signers: [0, 2],
      signature,
    });
    expect(receipt.status).toBe('success');
    paid = { ts: ts0, te, st, leaderId: slot.keeperId, signers: signerIds };
  });

  it('show payments and show balances have the payment’s values', async () => {
    const { payments } = await cliJson<{
      payments: {
        pid: Address;
        ts: string;
        te: string;
        st: string;
        amount: string;
        tid: Hex;
        leaderId: number;
        position: number;
        signers: number[];
        signersBitmap: string;
      }[];
    }>(['--upkeeping', upkeeping, 'show', 'payments']);
    expect(payments).toHaveLength(1);
    const p = payments[0]!;
    expect(p).toMatchObject({
      pid: provider.address,
      ts: String(paid.ts),
      te: String(paid.te),
      st: String(paid.st),
      amount: String(paid.st), // price 1e18 → 1 wei per byte·block
      leaderId: paid.leaderId,
      position: 2,
      signers: paid.signers,
      signersBitmap: String(0b101),
    });
    expect(p.tid).toBe(
      tid({
        ts: paid.ts,
        te: paid.te,
        pid: provider.address,
        user: user.address,
        leaderId: paid.leaderId,
        r: 2,
      }),
    );

    const ranking = rankKeepers({ user: user.address, pid: provider.address, ts: ts0, keepers: KEEPER_IDS });
    const excluded = ranking[0]!;
    const split = splitReward({ amount: paid.st, keeperCount: KEEPER_IDS.length - 1 });
    const { balances, contract } = await cliJson<{
      balances: { role: string; keeperId: number | null; account: Address; balance: string }[];
      contract: { balance: string; reserved: string; unreserved: string };
    }>(['--upkeeping', upkeeping, 'show', 'balances']);
    expect(balances[0]).toEqual({
      role: 'provider',
      keeperId: null,
      account: provider.address,
      balance: String(split.provider),
    });
    for (const b of balances.slice(1)) {
      expect(b.role).toBe('keeper');
      expect(b.balance).toBe(b.keeperId === excluded ? '0' : String(split.perKeeper));
    }
    expect(BigInt(contract.reserved)).toBe(paid.st);
    expect(BigInt(contract.balance)).toBe(1_500_000_000_000_000_000n);

    const human = await cli(['--upkeeping', upkeeping, 'show', 'payments']);
    expect(human.stdout).toMatch(new RegExp(`${provider.address}\\s+${paid.ts}\\s+${paid.te}\\s+${paid.st}`));

    // The schedule of the next interval starts at the payment's te.
    const next = await cliJson<{ ts: string }>(['--upkeeping', upkeeping, 'show', 'schedule']);
    expect(next.ts).toBe(String(paid.te));
  });

  it('withdraw pays out every party; balances are then zero', async () => {
    const before = await cliJson<{ balances: { account: Address; balance: string }[] }>([
      '--upkeeping',
      upkeeping,
      'show',
      'balances',
    ]);
    for (const b of before.balances) {
      const index = accounts.findIndex((a) => a.address === b.account);
      const r = await cli(['--json', '--upkeeping', upkeeping, 'withdraw'], { signer: index });
      if (b.balance === '0') {
        expect(r.code).toBe(EXIT.rejected);
        expect(r.stderr).toContain('UpkeepingNothingToWithdraw');
      } else {
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ account: b.account, amount: b.balance });
      }
    }
    const after = await cliJson<{
      balances: { balance: string }[];
      contract: { reserved: string; balance: string };
    }>(['--upkeeping', upkeeping, 'show', 'balances']);
    for (const b of after.balances) expect(b.balance).toBe('0');
    expect(after.contract.reserved).toBe('0');
    expect(BigInt(after.contract.balance)).toBe(1_500_000_000_000_000_000n - paid.st);
  });

  it('keeper remove takes a keeper out of the group', async () => {
    const r = await cliJson(['--upkeeping', upkeeping, 'keeper', 'remove', '--id', '104']);
    expect(r).toMatchObject({ keeperId: 104 });
    const { members } = await cliJson<{ members: { keeperId: number }[] }>([
      '--upkeeping',
      upkeeping,
      'show',
      'members',
    ]);
    expect(members.map((m) => m.keeperId)).toEqual([101, 102, 103]);
    const again = await cli(['--upkeeping', upkeeping, 'keeper', 'remove', '--id', '104']);
    expect(again.code).toBe(EXIT.rejected);
    expect(again.stderr).toContain('UpkeepingUnknownKeeper');
  });

  it('never prints a private key', () => {
    const all = printed.join('\n').toLowerCase();
    for (let i = 0; i < accounts.length; i++) expect(all).not.toContain(keyOf(i).slice(2));
  });
});

describe('whitepay: usage and availability errors', () => {
  it('missing required options exit 64', async () => {
    const r = await cli(['keeper', 'register', '--id', '1']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain("required option '--address <address>' not specified");
  });

  it('malformed values, unknown commands and a missing subcommand exit 64', async () => {
    for (const argv of [
      ['keeper', 'remove', '--id', 'x'],
      ['fund', '--amount', '-1'],
      ['user', 'create', '--price', '1', '--period', '1', '--window', '1', '--provider-bps', '10001'],
      ['frobnicate'],
      ['show'],
      ['--upkeeping', '0x1234', 'show', 'members'],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(EXIT.usage);
    }
  });

  it('a transaction without a private key, or without an address, exits 64', async () => {
    const noKey = await cli(['--upkeeping', user.address, 'fund', '--amount', '1'], { signer: null });
    expect(noKey.code).toBe(EXIT.usage);
    expect(noKey.stderr).toContain('WHITEPAY_PRIVATE_KEY');
    const noAddress = await cli(['fund', '--amount', '1']);
    expect(noAddress.code).toBe(EXIT.usage);
    const badKey = await cli(['factory', 'deploy'], {
      signer: null,
      env: { WHITEPAY_PRIVATE_KEY: '0xnope-secret' },
    });
    expect(badKey.code).toBe(EXIT.usage);
    expect(badKey.stderr).not.toContain('nope-secret');
  });

  it('an unreachable RPC endpoint exits 69', async () => {
    const port = await freePort();
    const r = await cli(['--rpc-url', `http://127.0.0.1:${port}`, 'factory', 'deploy']);
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.stderr).toContain('CHAIN_UNAVAILABLE');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a key file that is missing exits 66, one that is not a key exits 65', async () => {
    const missing = await cli([
      '--upkeeping',
      user.address,
      'keeper',
      'register',
      '--id',
      '1',
      '--address',
      user.address,
      '--bls-key-file',
      'nope.key',
    ]);
    expect(missing.code).toBe(EXIT.noInput);
    await writeFile(join(dir, 'garbage.key'), 'not a key\n', { mode: 0o600 });
    const bad = await cli([
      '--upkeeping',
      user.address,
      'keeper',
      'register',
      '--id',
      '1',
      '--address',
      user.address,
      '--bls-key-file',
      'garbage.key',
    ]);
    expect(bad.code).toBe(EXIT.data);
    expect(bad.stderr).toContain('KEY_FILE_INVALID');
  });

  it('an address without a contract exits 2 with NO_CONTRACT', async () => {
    const r = await cli(['--upkeeping', accounts[11]!.address, 'show', 'members']);
    expect(r.code).toBe(EXIT.rejected);
    expect(r.stderr).toContain('NO_CONTRACT');
  });
});

describe('the whitepay binary', () => {
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'whitepay.mjs');

  function spawnBin(argv: string[], env: Record<string, string> = {}): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...argv], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  it('deploys, creates and reads through the real executable, with its exit codes', async () => {
    const env = { WHITEPAY_RPC_URL: anvil.rpcUrl, WHITEPAY_PRIVATE_KEY: keyOf(7) };
    const deployed = await spawnBin(['--json', '--poll-interval', '50', 'factory', 'deploy'], env);
    expect(deployed.code, deployed.stderr).toBe(0);
    const { factory } = JSON.parse(deployed.stdout) as { factory: Address };
    const created = await spawnBin(
      [
        '--json',
        '--poll-interval',
        '50',
        '--factory',
        factory,
        'user',
        'create',
        '--price',
        '5',
        '--period',
        '3',
        '--window',
        '2',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { upkeeping } = JSON.parse(created.stdout) as { upkeeping: Address };
    const shown = await spawnBin(['--json', '--upkeeping', upkeeping, 'show', 'config'], {
      WHITEPAY_RPC_URL: anvil.rpcUrl,
    });
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ upkeeping, user: accounts[7]!.address });
    const usage = await spawnBin(['fund']);
    expect(usage.code).toBe(EXIT.usage);
    const version = await spawnBin(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  }, 180_000); // five process starts (tsx transforms the sources when the package is not built)
});
