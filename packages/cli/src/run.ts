import { Command, CommanderError } from 'commander';
import { factoryCommands } from './commands/factory.js';
import { fundCommands, providerCommands } from './commands/funds.js';
import { keeperCommands } from './commands/keeper.js';
import type { ContextOf } from './commands/shared.js';
import { showCommands } from './commands/show.js';
import { userCommands } from './commands/user.js';
import { createContext, DEFAULT_RPC_URL, type GlobalOptions } from './context.js';
import { EXIT, toFailure } from './errors.js';
import { type Io, toJson } from './io.js';
import { parseAddress, parseMillis } from './parse.js';

export const VERSION = '0.1.0';

/** The `whitepay` program, writing to `io` and throwing instead of exiting. */
export function buildProgram(io: Io): Command {
  const program = new Command('whitepay')
    .description('WhitePay operator CLI: deploy, configure, fund and inspect Upkeeping contracts')
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    .option('--rpc-url <url>', `JSON-RPC endpoint (env WHITEPAY_RPC_URL; default ${DEFAULT_RPC_URL})`)
    .option(
      '--private-key <hex>',
      'signer key (env WHITEPAY_PRIVATE_KEY, preferred: arguments are visible to other local users); never printed',
    )
    .option('--factory <address>', 'UpkeepingFactory address (env WHITEPAY_FACTORY)', parseAddress)
    .option(
      '--upkeeping <address>',
      "Upkeeping address (env WHITEPAY_UPKEEPING; default: the signer's, found through --factory)",
      parseAddress,
    )
    .option('--json', 'machine output on stdout (bigints as decimal strings); errors as JSON on stderr')
    .option('--quiet', 'no progress lines on stderr')
    .option('--poll-interval <ms>', 'how often to poll for receipts (default 1000)', parseMillis)
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 internal error, 2 rejected by the contract or node (revert), 64 usage,\n' +
        '65 bad input file, 66 missing input file, 69 chain unavailable, 73 cannot create output file.',
    );

  const contextOf: ContextOf = (cmd) => createContext(io, cmd.optsWithGlobals<GlobalOptions>());
  factoryCommands(program, contextOf);
  userCommands(program, contextOf);
  keeperCommands(program, contextOf);
  providerCommands(program, contextOf);
  fundCommands(program, contextOf);
  showCommands(program, contextOf);
  return program;
}

/**
 * Runs `whitepay` with `argv` (the arguments after the program name); resolves to the exit code. Never
 * throws and never calls `process.exit`: expected failures print one line (or JSON with --json) on stderr.
 */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already written its message (or the help) to stderr/stdout.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const failure = toFailure(err);
    if (argv.includes('--json')) {
      io.stderr.write(`${toJson({ error: failure })}\n`);
    } else {
      io.stderr.write(`error: ${failure.message} [${failure.code}]\n`);
    }
    if (failure.exitCode === EXIT.internal && io.env.WHITEPAY_DEBUG && err instanceof Error && err.stack) {
      io.stderr.write(`${err.stack}\n`);
    }
    return failure.exitCode;
  }
}
