import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ServerTlsOptions } from './pki.js';
import { freePort, tempDir, waitFor } from './ports.js';
import { exitedEarly, type Managed, spawnManaged } from './process.js';

export interface PostgresServer {
  /** Connection string of the `postgres` database as superuser `whitepay`. */
  url: string;
  port: number;
  dataDir: string;
  /** Creates a fresh database and returns its connection string. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) keeping the data dir. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.WHITEPAY_PG_BIN) candidates.push(process.env.WHITEPAY_PG_BIN);
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  candidates.push('/usr/local/bin', '/usr/bin');
  for (const dir of candidates)
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  throw new Error('PostgreSQL server binaries not found (install postgresql, or set WHITEPAY_PG_BIN)');
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = process.env.WHITEPAY_PG_USER ?? 'postgres';
  const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
  return { uid, gid };
}

function chownTree(path: string, ids: { uid: number; gid: number }): void {
  execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, path]);
}

/**
 * PostgreSQL on loopback (or `host`: connections from its /24 are trusted too, e.g. a podman network's
 * containers), as the unprivileged `postgres` user when run as root. With `tls`, TCP connections must
 * use TLS (`ssl=on`, `hostssl` lines only), and with `tls.verifyClients` present a client certificate
 * signed by `tls.caFile` (`clientcert=verify-ca`); the kit itself talks over the Unix socket.
 */
export async function startPostgres(
  opts: { port?: number; dataDir?: string; host?: string; tls?: ServerTlsOptions } = {},
): Promise<PostgresServer> {
  const host = opts.host ?? '127.0.0.1';
  const bin = postgresBinDir();
  const ids = runAs();
  const tmp = opts.dataDir ? undefined : await tempDir('pg');
  const base = opts.dataDir ?? tmp!.path;
  const dataDir = join(base, 'data');
  const sockDir = base;
  const port = opts.port ?? (await freePort());
  if (ids) chownSync(base, ids.uid, ids.gid);
  const spawnOpts = ids ? { uid: ids.uid, gid: ids.gid } : {};
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'whitepay', '--auth=trust', '--encoding=UTF8', '--no-sync', '--no-instructions'],
      { ...spawnOpts, stdio: 'pipe', cwd: base },
    );
  }
  if (host !== '127.0.0.1') {
    const subnet = `${host.split('.').slice(0, 3).join('.')}.0/24`;
    appendFileSync(join(dataDir, 'pg_hba.conf'), `host all all ${subnet} trust\n`);
  }
  const sslArgs: string[] = [];
  if (opts.tls) {
    copyFileSync(opts.tls.certFile, join(base, 'server.crt'));
    copyFileSync(opts.tls.keyFile, join(base, 'server.key'));
    copyFileSync(opts.tls.caFile, join(base, 'ca.crt'));
    execFileSync('chmod', ['0600', join(base, 'server.key')]);
    const hba = join(dataDir, 'pg_hba.conf');
    const clientcert = opts.tls.verifyClients ? ' clientcert=verify-ca' : '';
    writeFileSync(
      hba,
      readFileSync(hba, 'utf8')
        .split('\n')
        .map((line) => (/^host\s/.test(line) ? `hostssl${line.slice(4)}${clientcert}` : line))
        .join('\n'),
    );
    sslArgs.push(
      ...[
        'ssl=on',
        `ssl_cert_file=${join(base, 'server.crt')}`,
        `ssl_key_file=${join(base, 'server.key')}`,
        `ssl_ca_file=${join(base, 'ca.crt')}`,
      ].flatMap((c) => ['-c', c]),
    );
  }
  /** Where the kit's own tools connect: the socket with TLS (no client certificate needed there). */
  const adminHost = opts.tls ? sockDir : host;
  if (ids) chownTree(base, ids);
  let proc: Managed;
  const launch = async () => {
    proc = spawnManaged(
      join(bin, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-h',
        host,
        '-k',
        sockDir,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
        '-c',
        'shared_buffers=128MB',
        ...sslArgs,
      ],
      { ...spawnOpts, cwd: base },
    );
    await waitFor(
      `postgres on port ${port}`,
      async () => {
        if (exitedEarly(proc)) throw new Error(`postgres exited: ${proc.output()}`);
        try {
          execFileSync(join(bin, 'pg_isready'), ['-h', adminHost, '-p', String(port)], { stdio: 'pipe' });
          return true;
        } catch {
          return false;
        }
      },
      60_000,
      100,
    );
  };
  await launch();
  const url = `postgres://whitepay@${host}:${port}/postgres`;
  return {
    url,
    port,
    dataDir,
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      execFileSync(
        join(bin, 'psql'),
        [
          '-h',
          adminHost,
          '-p',
          String(port),
          '-U',
          'whitepay',
          '-d',
          'postgres',
          '-qc',
          `CREATE DATABASE ${name}`,
        ],
        {
          stdio: 'pipe',
        },
      );
      return `postgres://whitepay@${host}:${port}/${name}`;
    },
    async kill() {
      await proc.stop('SIGINT');
    },
    async restart() {
      await proc.stop('SIGINT');
      await launch();
    },
    async stop() {
      await proc.stop('SIGINT');
      await tmp?.remove();
    },
  };
}
