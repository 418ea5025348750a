import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type K8sObject, mountedPath, podVolumes } from './loopback-cluster.js';

// How the loopback runner lays out a pod's volumes, as a kubelet would: the runner the chart-run
// tier starts every rendered pod with (test/chart/chart-run.int.test.ts).

const keys: K8sObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'keys' },
  data: {
    'account-key': Buffer.from('0xabc').toString('base64'),
    'admin-token': Buffer.from('token').toString('base64'),
  },
} as unknown as K8sObject;
const none = () => undefined;

describe('podVolumes', () => {
  const dirs: string[] = [];
  const root = () => {
    const d = mkdtempSync(join(tmpdir(), 'wp-vol-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const mode = (f: string) => statSync(f).mode & 0o777;

  it("writes a Secret's listed items at their paths with the volume's mode, read-only, and maps paths under it", () => {
    const host = root();
    const mounts = podVolumes(
      [keys],
      none,
      'p',
      {
        volumes: [
          {
            name: 'keys',
            secret: { secretName: 'keys', defaultMode: 0o400, items: [{ key: 'account-key', path: 'a/k' }] },
          },
          { name: 'tmp', emptyDir: {} },
        ],
      },
      {
        volumeMounts: [
          { name: 'keys', mountPath: '/etc/whitepay/keys' },
          { name: 'tmp', mountPath: '/tmp' },
        ],
      },
      host,
    );
    expect(mounts.map((m) => [m.path, m.kind, m.readOnly])).toEqual([
      ['/etc/whitepay/keys', 'secret', true],
      ['/tmp', 'emptyDir', false],
    ]);
    const file = mountedPath('/etc/whitepay/keys/a/k', mounts);
    expect(file).toBe(join(host, 'keys', 'a', 'k'));
    expect(readFileSync(file, 'utf8')).toBe('0xabc');
    expect(mode(file)).toBe(0o400);
    expect(() => readFileSync(join(host, 'keys', 'admin-token'))).toThrow(); // not listed: not written
    expect(mountedPath('/var/other', mounts)).toBe('/var/other');
  });

  it('every key of a Secret given outside the manifests, with the item mode over the default, 0644 by default', () => {
    const host = root();
    const external = (name: string) =>
      name === 'peer-tls' ? { 'ca.crt': 'CA', 'tls.key': 'KEY' } : undefined;
    podVolumes(
      [],
      external,
      'p',
      {
        volumes: [
          {
            name: 'tls',
            secret: {
              secretName: 'peer-tls',
              items: [
                { key: 'tls.key', path: 'tls.key', mode: 0o400 },
                { key: 'ca.crt', path: 'ca.crt' },
              ],
            },
          },
        ],
      },
      { volumeMounts: [{ name: 'tls', mountPath: '/etc/tls' }] },
      host,
    );
    expect(mode(join(host, 'tls', 'tls.key'))).toBe(0o400);
    expect(mode(join(host, 'tls', 'ca.crt'))).toBe(0o644);
  });

  it('refuses what a kubelet would not start: a missing Secret or key, a path out of the volume, subPath; optional skips', () => {
    const host = root();
    const one = (secret: Record<string, unknown>, mount: Record<string, unknown> = {}) =>
      podVolumes(
        [keys],
        none,
        'p',
        { volumes: [{ name: 'v', secret }] },
        { volumeMounts: [{ name: 'v', mountPath: '/v', ...mount }] },
        host,
      );
    expect(() => one({ secretName: 'nope' })).toThrow(/Secret nope does not exist/);
    expect(() => one({ secretName: 'keys', items: [{ key: 'internal-token', path: 't' }] })).toThrow(
      /has no key internal-token/,
    );
    expect(() => one({ secretName: 'keys', items: [{ key: 'account-key', path: '../escape' }] })).toThrow(
      /leaves the volume/,
    );
    expect(() => one({ secretName: 'keys' }, { subPath: 'x' })).toThrow(/subPath/);
    expect(() => one({ secretName: 'nope', optional: true })).not.toThrow();
    expect(() =>
      one({ secretName: 'keys', optional: true, items: [{ key: 'internal-token', path: 't' }] }),
    ).not.toThrow();
    expect(() =>
      podVolumes(
        [],
        none,
        'p',
        { volumes: [] },
        { volumeMounts: [{ name: 'ghost', mountPath: '/g' }] },
        host,
      ),
    ).toThrow(/not defined/);
  });
});
