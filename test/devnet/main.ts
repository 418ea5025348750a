import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CTL_USAGE, runCtl, startControlServer, toJson } from './control.js';
import { type Devnet, startDevnet } from './devnet.js';
import { DEFAULTS, parseOptions, UsageError } from './options.js';
import { type ControlFile, layoutOf } from './state.js';
import { renderStatus, StatusCollector } from './status.js';

// The local network from the command line: `bash scripts/devnet.sh [options]` runs it until Ctrl-C;
// `bash scripts/devnet.sh ctl <command>` controls a running one.

const RUNNER_ENV = 'WHITEPAY_DEVNET_LAUNCHER';
const say = (line: string) => console.log(`\x1b[1m[devnet]\x1b[0m ${line}`);

async function ctl(argv: string[]): Promise<number> {
  let dataDir = DEFAULTS.dataDir;
  const i = argv.indexOf('--data-dir');
  if (i >= 0) {
    dataDir = parseOptions(['--data-dir', argv[i + 1] ?? '']).dataDir;
    argv.splice(i, 2);
  }
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help') {
    console.log(CTL_USAGE);
    return 0;
  }
  const out = await runCtl(layoutOf(dataDir).control, argv);
  console.log(toJson(out));
  return 0;
}

async function run(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  let net: Devnet | undefined;
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) {
      say('still stopping (waiting for every process to exit) …');
      return;
    }
    stopping = true;
    say(`${signal}: stopping …`);
  };
  // Until the network is up a signal only marks the stop; it is acted on once startDevnet returns or fails.
  const early = (s: NodeJS.Signals) => onSignal(s);
  process.on('SIGINT', early);
  process.on('SIGTERM', early);
  try {
    net = await startDevnet(options, say);
  } catch (err) {
    console.error(`\x1b[31m[devnet] failed to start:\x1b[0m ${(err as Error).message}`);
    return 1;
  }
  if (stopping) {
    await net.stop();
    return 130;
  }
  const status = new StatusCollector(net);
  const server = await startControlServer(net, status, net.state.ports.control, net.state.adminToken);
  const control: ControlFile = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: net.state.adminToken,
    pid: process.pid,
  };
  writeFileSync(net.layout.control, `${JSON.stringify(control, null, 2)}\n`, { mode: 0o600 });
  say(`up in ${(net.startupMs / 1000).toFixed(1)} s — ${net.supervisor.names().length} processes`);
  say(`control: pnpm devnet ctl help   (HTTP ${control.url}, token in ${net.layout.control})`);
  say(`chain:   ${net.endpoints.rpcUrl}   logs: ${net.layout.logs}`);
  say('Ctrl-C stops everything; a second start resumes (--fresh wipes).');

  const mode = options.status === 'auto' ? (process.stdout.isTTY ? 'tty' : 'log') : options.status;
  let busy = false;
  const frame = async () => {
    if (busy || stopping) return;
    busy = true;
    try {
      const snap = await status.snapshot();
      if (stopping) return;
      if (mode === 'tty') process.stdout.write(`\x1b[H\x1b[2J${renderStatus(snap, net!, true)}\n`);
      else console.log(`\n${renderStatus(snap, net!, false)}`);
    } catch (err) {
      console.error(`[devnet] status: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  };
  const timer = mode === 'off' ? undefined : setInterval(frame, mode === 'tty' ? 1_000 : 10_000);
  if (mode !== 'off') void frame();

  await new Promise<void>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      onSignal(s);
      resolve();
    };
    process.removeListener('SIGINT', early);
    process.removeListener('SIGTERM', early);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  if (timer) clearInterval(timer);
  rmSync(net.layout.control, { force: true });
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  const t = Date.now();
  await net.stop();
  say(`stopped every process in ${((Date.now() - t) / 1000).toFixed(1)} s; data kept in ${net.layout.root}`);
  return 0;
}

/**
 * A terminal's Ctrl-C reaches its whole foreground process group: the servers would die at once, under the
 * services still stopping. So the network runs in a runner process of its own group, which this launcher
 * starts and to which it forwards SIGINT/SIGTERM/SIGHUP; the runner stops the services first, then the
 * servers. A runner whose launcher vanished (SIGKILL) stops everything too.
 */
async function launch(argv: string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...argv], {
    detached: true,
    stdio: 'inherit',
    env: { ...process.env, [RUNNER_ENV]: String(process.pid) },
  });
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(s, () => child.kill(s === 'SIGHUP' ? 'SIGTERM' : s));
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 130 : 1))));
}

function watchLauncher(): void {
  const launcher = Number(process.env[RUNNER_ENV]);
  const timer = setInterval(() => {
    if (process.ppid !== launcher) {
      clearInterval(timer);
      process.emit('SIGTERM');
    }
  }, 1_000);
  timer.unref();
}

const argv = process.argv.slice(2);
try {
  if (argv[0] === 'ctl') process.exitCode = await ctl(argv.slice(1));
  else if (process.env[RUNNER_ENV]) {
    watchLauncher();
    process.exitCode = await run(argv);
  } else process.exitCode = await launch(argv);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exitCode = 64;
  } else {
    console.error(`[devnet] ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
// Keep-alive sockets of the status polls must not hold the process open once everything stopped.
process.exit();
