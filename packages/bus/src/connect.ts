import { isIP, connect as tcpConnect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import {
  type ClientTlsMaterial,
  isTlsHandshakeError,
  type Logger,
  TlsError,
  WhitePayError,
} from '@whitepay/base';
import {
  type Authenticator,
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from 'nats';
import type { NatsAuth, NatsEndpoint } from './config.js';

export interface BusOptions extends NatsEndpoint {
  name: string;
  log: Logger;
}

/** How long the first connection waits between attempts while the server is unreachable. */
const FIRST_CONNECT_WAIT_MS = 250;

function authenticator(auth: NatsAuth): Authenticator {
  switch (auth.kind) {
    case 'password':
      return usernamePasswordAuthenticator(auth.user, auth.password);
    case 'token':
      return tokenAuthenticator(auth.token);
    case 'creds':
      return credsAuthenticator(auth.creds);
  }
}

/** The nats.js options of an endpoint: TLS material as PEM strings, credentials as an authenticator. */
export function natsConnectOptions(
  opts: NatsEndpoint,
): Pick<ConnectionOptions, 'servers' | 'tls' | 'authenticator'> {
  return {
    servers: opts.url,
    ...(opts.tls
      ? {
          tls: {
            ...(opts.tls.ca ? { ca: opts.tls.ca.toString('utf8') } : {}),
            ...(opts.tls.cert ? { cert: opts.tls.cert.toString('utf8') } : {}),
            ...(opts.tls.key ? { key: opts.tls.key.toString('utf8') } : {}),
          },
        }
      : {}),
    ...(opts.auth ? { authenticator: authenticator(opts.auth) } : {}),
  };
}

/**
 * Connects with unbounded reconnects (a NATS restart is survived, SPEC 10) and
 * logs status changes. The first connection waits for an unreachable server
 * as long as it takes, but a refusal that waiting cannot cure fails at once,
 * typed: a TLS handshake refused either way (a server certificate this CA
 * bundle does not sign, a client certificate the server does not accept, TLS
 * asked of a plaintext server) is `NATS_TLS_REFUSED`; refused credentials
 * are `NATS_AUTH_REFUSED`.
 */
export async function connectBus(opts: BusOptions): Promise<NatsConnection> {
  const log = opts.log.child({ component: 'nats' });
  const options: ConnectionOptions = {
    ...natsConnectOptions(opts),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
    timeout: 10_000,
  };
  let nc: NatsConnection;
  for (let attempt = 1; ; attempt++) {
    try {
      nc = await connect(options);
      break;
    } catch (err) {
      const refusal = refused(err, opts);
      if (refusal) throw refusal;
      // A server refusing this client's certificate (or its absence) closes the connection after
      // the TLS 1.3 handshake; nats.js reports a timeout. One probe tells the two apart.
      if (opts.tls && (err as { code?: unknown }).code === 'TIMEOUT') {
        const probed = await tlsProbe(opts.url, opts.tls);
        if (probed) throw refused(probed, opts) ?? probed;
      }
      if (attempt === 1 || attempt % 40 === 0)
        log.warn({ err: (err as Error | undefined)?.message, attempt }, 'nats unreachable, retrying');
      await delay(FIRST_CONNECT_WAIT_MS);
    }
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect' || s.type === 'disconnect')
        log.warn({ status: s.type, data: s.data }, 'nats status');
    }
  })();
  return nc;
}

function refused(err: unknown, opts: BusOptions): WhitePayError | undefined {
  const code = (err as { code?: unknown }).code;
  const tlsMissing = code === 'SERVER_OPT_NA' && /tls/i.test((err as Error).message);
  if (isTlsHandshakeError(err) || code === 'TLS' || tlsMissing)
    return new TlsError(
      'NATS_TLS_REFUSED',
      tlsMissing
        ? `NATS at ${opts.url} does not offer the TLS this client requires`
        : `TLS with NATS at ${opts.url} refused: ${(err as Error).message}`,
      { kind: 'failed_precondition', details: { url: opts.url }, cause: err },
    );
  if ((err as { isAuthError?: () => boolean }).isAuthError?.() === true)
    return new WhitePayError('NATS_AUTH_REFUSED', `NATS at ${opts.url} refused the credentials`, {
      kind: 'unauthenticated',
      details: { url: opts.url },
      cause: err,
    });
  return undefined;
}

/**
 * Opens one TLS session the way nats.js does (the server's INFO line in
 * plaintext, then the handshake) and says a handshake error, the server's
 * alert included, or undefined when the session works or the server cannot
 * be reached.
 */
export async function tlsProbe(
  url: string,
  tls: ClientTlsMaterial,
  timeoutMs = 3000,
): Promise<Error | undefined> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 4222);
  return new Promise((resolve) => {
    const tcp = tcpConnect({ host, port });
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tcp.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(), timeoutMs);
    tcp.once('error', () => done());
    let info = '';
    const onData = (b: Buffer) => {
      info += b.toString('latin1');
      if (!info.includes('\r\n')) return;
      tcp.off('data', onData);
      const session = tlsConnect({
        socket: tcp,
        host,
        ...(isIP(host) ? {} : { servername: host }),
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
      });
      session.once('error', (err) => done(err));
      session.once('secureConnect', () => session.write('PING\r\n'));
      session.once('data', () => done());
      session.once('close', () => done());
    };
    tcp.on('data', onData);
  });
}

/** Readiness: the connection is open and the server answers a round trip. */
export async function natsReady(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) throw new Error('nats connection closed');
  await nc.flush();
}
