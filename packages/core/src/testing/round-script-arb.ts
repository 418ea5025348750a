import fc from 'fast-check';
import type { Address } from 'viem';
import type { RoundScript, ScriptStep } from './round-script.js';

const value = fc.oneof(
  fc.constantFrom('0', '1', '1000', '1000000', '1000001', '999999'),
  fc.bigInt({ min: 0n, max: 1n << 64n }).map(String),
);
const from = (n: number) =>
  fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: n - 1 }) },
    { weight: 1, arbitrary: fc.constant(-1) },
  );
const rare = fc.oneof(
  { weight: 12, arbitrary: fc.constant(false) },
  { weight: 1, arbitrary: fc.constant(true) },
);
const delta = fc.oneof(
  { weight: 12, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1) },
);

function step(n: number): fc.Arbitrary<ScriptStep> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('commit' as const),
        from: from(n),
        st: value,
        nonce: fc.integer({ min: 0, max: 255 }),
        wrongTid: rare,
        attemptDelta: delta,
        malformed: rare,
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('reveal' as const),
        from: from(n),
        honest: fc.oneof(
          { weight: 8, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
        st: value,
        approve: fc.boolean(),
        sig: fc.constantFrom('good', 'good', 'good', 'good', 'bad', 'missing'),
        wrongTid: rare,
        attemptDelta: delta,
        proposalDelta: delta,
        malformed: rare,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('timeout' as const),
        attempt: fc.constantFrom('none', 'current', 'current', 'stale'),
        phase: fc.constantFrom('none', 'current', 'current', 'committing', 'proposing', 'syncing'),
        proposal: fc.constantFrom('none', 'current', 'current', 'stale'),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('synced' as const), st: value }) },
  ) as fc.Arbitrary<ScriptStep>;
}

/** Every member commits (in a random order, a few of them off the script). */
function commitAll(n: number): fc.Arbitrary<ScriptStep[]> {
  return fc
    .shuffledSubarray([...Array(n).keys()], { minLength: Math.max(1, n - 2), maxLength: n })
    .chain((order) =>
      fc.tuple(
        ...order.map((i) =>
          fc.record({
            t: fc.constant('commit' as const),
            from: fc.constant(i),
            st: fc.oneof(fc.constantFrom('1000000', '1000010', '999990', '1000000'), value),
            nonce: fc.integer({ min: 0, max: 255 }),
            wrongTid: fc.constant(false),
            attemptDelta: fc.constant(0),
            malformed: fc.constant(false),
          }),
        ),
      ),
    );
}

/** Every member reveals, mostly honestly and approving with a good signature. */
function revealAll(n: number): fc.Arbitrary<ScriptStep[]> {
  return fc
    .shuffledSubarray([...Array(n).keys()], { minLength: Math.max(1, n - 2), maxLength: n })
    .chain((order) =>
      fc.tuple(
        ...order.map((i) =>
          fc.record({
            t: fc.constant('reveal' as const),
            from: fc.constant(i),
            honest: fc.oneof(
              { weight: 10, arbitrary: fc.constant(true) },
              { weight: 1, arbitrary: fc.constant(false) },
            ),
            st: value,
            approve: fc.oneof(
              { weight: 2, arbitrary: fc.constant(true) },
              { weight: 1, arbitrary: fc.constant(false) },
            ),
            sig: fc.constantFrom('good', 'good', 'good', 'good', 'good', 'good', 'bad', 'missing'),
            wrongTid: fc.constant(false),
            attemptDelta: fc.constant(0),
            proposalDelta: fc.constant(0),
            malformed: fc.constant(false),
          }),
        ),
      ),
    );
}

function chunk(n: number): fc.Arbitrary<ScriptStep[]> {
  return fc.oneof(
    { weight: 3, arbitrary: step(n).map((s) => [s]) },
    { weight: 2, arbitrary: commitAll(n) },
    { weight: 2, arbitrary: revealAll(n) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('start' as const), st: value }).map((s) => [s]) },
  );
}

const address = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}` as Address);

/** A random round script: a group of 1..7 keepers, a threshold, a bound on attempts, 1..16 chunks of steps (single steps, every member committing, every member revealing). */
export const roundScript: fc.Arbitrary<RoundScript> = fc
  .uniqueArray(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 7 })
  .chain((members) =>
    fc.record({
      user: address,
      pid: address,
      ts: fc.bigInt({ min: 0n, max: 1n << 40n }).map(String),
      len: fc.bigInt({ min: 1n, max: 1n << 20n }),
      r: fc.integer({ min: 1, max: 255 }),
      members: fc.constant(members),
      leader: fc.integer({ min: 0, max: members.length - 1 }),
      threshold: fc.option(fc.integer({ min: 1, max: members.length }), { nil: undefined }),
      maxAttempts: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      start: value,
      steps: fc.array(chunk(members.length), { minLength: 1, maxLength: 16 }).map((c) => c.flat()),
    }),
  )
  .map(({ len, start, steps, threshold, maxAttempts, ...rest }) => ({
    ...rest,
    te: String(BigInt(rest.ts) + len),
    ...(threshold === undefined ? {} : { threshold }),
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
    steps: [{ t: 'start' as const, st: start }, ...steps],
  }));
