import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Devnet, InfraName, ProviderFault } from './devnet.js';
import { SERVICES, type ServiceName } from './state.js';
import type { StatusCollector } from './status.js';

const SERVICE_ALIASES: Record<string, ServiceName> = {
  challenger: 'challenger',
  chal: 'challenger',
  'challenge-store': 'challenge-store',
  store: 'challenge-store',
  'st-calculator': 'st-calculator',
  st: 'st-calculator',
  'chain-submitter': 'chain-submitter',
  submitter: 'chain-submitter',
  submit: 'chain-submitter',
  'consensus-coordinator': 'consensus-coordinator',
  coordinator: 'consensus-coordinator',
  coord: 'consensus-coordinator',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function serviceOf(name: string): ServiceName {
  const s = SERVICE_ALIASES[name];
  if (!s) throw new HttpError(400, `unknown service ${name} (one of ${SERVICES.join(', ')})`);
  return s;
}

export function keeperIdOf(ref: string): number {
  const id = Number(ref.replace(/^k/, ''));
  if (!Number.isInteger(id) || id < 1) throw new HttpError(400, `bad keeper ${ref} (e.g. 1 or k1)`);
  return id;
}

/** JSON with bigints as decimal strings. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2);
}

async function bodyOf(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

/**
 * The scenario controls over HTTP on 127.0.0.1 (bearer token of the devnet):
 *
 * | route | what |
 * | --- | --- |
 * | `GET /v1/status` | the status view as JSON |
 * | `POST /v1/keepers/:k/stop`, `/start` | all services of a keeper |
 * | `POST /v1/keepers/:k/:service/stop`, `/start`, `/kill` | one service (kill = SIGKILL, then restarted) |
 * | `PUT /v1/keepers/:k/fault` `{fault}` | coordinator fault: `none`, `lie-st:<factor>`, `garbage-sig` |
 * | `PUT /v1/providers/:p/fault` `{mode, delayMs?}` | provider fault: `none`, `offline`, `slow` |
 * | `POST /v1/providers/:p/pieces/:piece/lose` | the provider deletes a piece (index or id) |
 * | `POST /v1/infra/:name/restart` | restart `nats`, `redis` or `postgres` |
 */
export function startControlServer(
  net: Devnet,
  status: StatusCollector,
  port: number,
  token: string,
): Promise<Server> {
  const expected = Buffer.from(`Bearer ${token}`);
  const route = async (method: string, parts: string[], req: IncomingMessage): Promise<unknown> => {
    const [v1, kind, ref, a, b, c] = parts;
    if (v1 !== 'v1') throw new HttpError(404, 'not found');
    if (method === 'GET' && kind === 'status' && ref === undefined) return status.snapshot();
    if (kind === 'keepers' && ref !== undefined) {
      const id = keeperIdOf(ref);
      net.keeper(id);
      if (method === 'POST' && a === 'stop' && b === undefined) return net.stopKeeper(id);
      if (method === 'POST' && a === 'start' && b === undefined) return net.startKeeper(id);
      if (method === 'PUT' && a === 'fault' && b === undefined) {
        const fault = (await bodyOf(req)).fault;
        if (typeof fault !== 'string') throw new HttpError(400, 'body needs {"fault": "..."}');
        return net.keeperFault(id, fault);
      }
      if (method === 'POST' && a !== undefined && b !== undefined && c === undefined) {
        const s = serviceOf(a);
        if (b === 'stop') return net.stopService(id, s);
        if (b === 'start') return net.startService(id, s);
        if (b === 'kill') return net.killService(id, s);
      }
    }
    if (kind === 'providers' && ref !== undefined) {
      const p = ref.replace(/^p(?=\d)/, '');
      if (method === 'PUT' && a === 'fault' && b === undefined) {
        const body = await bodyOf(req);
        const mode = body.mode as ProviderFault;
        if (!['none', 'offline', 'slow'].includes(mode))
          throw new HttpError(400, 'mode: none, offline or slow');
        return net.providerFault(p, mode, typeof body.delayMs === 'number' ? body.delayMs : undefined);
      }
      if (method === 'POST' && a === 'pieces' && b !== undefined && c === 'lose') return net.losePiece(p, b);
    }
    if (kind === 'infra' && method === 'POST' && a === 'restart') {
      if (ref !== 'nats' && ref !== 'redis' && ref !== 'postgres')
        throw new HttpError(400, 'infra: nats, redis or postgres');
      return net.restartInfra(ref as InfraName);
    }
    throw new HttpError(404, `no route ${method} /${parts.join('/')}`);
  };
  const server = createServer((req, res) => {
    const auth = Buffer.from(req.headers.authorization ?? '');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(toJson(body));
    };
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      send(401, { error: 'missing or wrong bearer token (see .devnet/control.json)' });
      return;
    }
    const parts = new URL(req.url ?? '/', 'http://x').pathname.split('/').filter(Boolean);
    route(req.method ?? 'GET', parts, req).then(
      (out) => send(200, out ?? { ok: true }),
      (err: unknown) =>
        send(err instanceof HttpError ? err.status : 500, { error: String((err as Error).message) }),
    );
  });
  const listen = (p: number) =>
    new Promise<Server>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  // The recorded port is a preference: clients find the server through
  // control.json, so when something else holds the port, any free one serves.
  return listen(port).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    return listen(0);
  });
}

export const CTL_USAGE = `usage: pnpm devnet ctl <command>      (talks to the running devnet through .devnet/control.json)

  status                          the status view as JSON
  stop <keeper> [service]         stop a keeper (all five services) or one service; it stays down
  start <keeper> [service]        start it again
  kill <keeper> <service>         crash a service (SIGKILL); the supervisor restarts it with backoff
  lose <provider> [piece]         the provider deletes a piece (index, default 0, or id)
  offline|online <provider>       the provider refuses challenges / answers again
  slow <provider> [ms]            the provider answers after ms (default 30000)
  lie <keeper> [factor]           the keeper's coordinator reports st × factor (default 2)
  honest <keeper>                 clears the keeper's fault
  fault <keeper> <fault>          any coordinator fault: none | lie-st:<factor> | garbage-sig
  restart nats|redis|postgres     restart a shared server under load

  keeper: 1 or k1; provider: 0 or p0; service: challenger|store|st|submitter|coordinator (or full names)`;

/** Runs one `ctl` command against a running devnet; returns the JSON answer. */
export async function runCtl(controlFile: string, argv: readonly string[]): Promise<unknown> {
  let file: { url: string; token: string };
  try {
    file = JSON.parse(readFileSync(controlFile, 'utf8')) as { url: string; token: string };
  } catch {
    throw new Error(`no running devnet (${controlFile} not found): start it with bash scripts/devnet.sh`);
  }
  const [cmd, x, y] = argv;
  const req = (method: string, path: string, body?: unknown) => ({ method, path, body });
  const need = (v: string | undefined, what: string) => {
    if (v === undefined) throw new Error(`${cmd} needs a ${what}\n\n${CTL_USAGE}`);
    return v;
  };
  let r: { method: string; path: string; body?: unknown };
  switch (cmd) {
    case 'status':
      r = req('GET', '/v1/status');
      break;
    case 'stop':
    case 'start':
      r = y
        ? req('POST', `/v1/keepers/${need(x, 'keeper')}/${y}/${cmd}`)
        : req('POST', `/v1/keepers/${need(x, 'keeper')}/${cmd}`);
      break;
    case 'kill':
      r = req('POST', `/v1/keepers/${need(x, 'keeper')}/${need(y, 'service')}/kill`);
      break;
    case 'lose':
      r = req('POST', `/v1/providers/${need(x, 'provider')}/pieces/${y ?? '0'}/lose`);
      break;
    case 'offline':
      r = req('PUT', `/v1/providers/${need(x, 'provider')}/fault`, { mode: 'offline' });
      break;
    case 'online':
      r = req('PUT', `/v1/providers/${need(x, 'provider')}/fault`, { mode: 'none' });
      break;
    case 'slow':
      r = req('PUT', `/v1/providers/${need(x, 'provider')}/fault`, {
        mode: 'slow',
        ...(y ? { delayMs: Number(y) } : {}),
      });
      break;
    case 'lie':
      r = req('PUT', `/v1/keepers/${need(x, 'keeper')}/fault`, { fault: `lie-st:${y ?? '2'}` });
      break;
    case 'honest':
      r = req('PUT', `/v1/keepers/${need(x, 'keeper')}/fault`, { fault: 'none' });
      break;
    case 'fault':
      r = req('PUT', `/v1/keepers/${need(x, 'keeper')}/fault`, { fault: need(y, 'fault') });
      break;
    case 'restart':
      r = req('POST', `/v1/infra/${need(x, 'server')}/restart`);
      break;
    default:
      throw new Error(CTL_USAGE);
  }
  const res = await fetch(`${file.url}${r.path}`, {
    method: r.method,
    headers: {
      authorization: `Bearer ${file.token}`,
      ...(r.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(r.body === undefined ? {} : { body: JSON.stringify(r.body) }),
  }).catch((err: unknown) => {
    throw new Error(`the devnet at ${file.url} does not answer (${String(err)}); is it running?`);
  });
  const body = (await res.json()) as unknown;
  if (!res.ok) throw new Error((body as { error?: string }).error ?? `HTTP ${res.status}`);
  return body;
}
