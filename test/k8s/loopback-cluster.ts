// Runs rendered Kubernetes manifests as processes on this machine, as far as a
// kubelet would run them: every Job's and Deployment's container command and
// args, with exactly the environment the manifests give it (ConfigMaps and
// Secrets resolved), over the files of the image it names. There is no API
// server and no container runtime here, so a pod is a process and the pod
// network is the loopback range: each pod gets its own 127.x address, the
// bind address `0.0.0.0` in its environment becomes that address, and a
// Service name (`svc`, `svc.ns`, `svc.ns.svc.cluster.local`, with its port)
// becomes the address and target port of the pod behind it. Probes are polled
// as the kubelet polls them (startup, then readiness and liveness at their
// periods); a container that exits is restarted with back-off, a Job's pod is
// retried up to its backoffLimit. A pod's volumes are directories of its own
// under `<logDir>/volumes/<pod>/`: an emptyDir empty, a secret volume holding
// the Secret's keys as files (its `items`, modes and `optional` honoured), and
// a variable naming a path under a mount names the same file there.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, type WriteStream, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field
  spec?: any;
};

/** What an image holds, as the runner needs it: its default command, working directory and environment. */
export interface ImageSpec {
  /** The image's `WORKDIR`, as a container path. */
  workdir: string;
  /** `ENTRYPOINT` + `CMD`. */
  cmd: string[];
  env: Record<string, string>;
  /** A container path of this image → the host directory or file holding the same content. */
  hostPath(containerPath: string): string;
}

export interface ClusterOptions {
  namespace: string;
  objects: readonly K8sObject[];
  /**
   * Secrets created outside the manifests (`kubectl create secret generic … --from-literal`/`--from-file`):
   * name → key → value.
   */
  secrets?: Record<string, Record<string, string>>;
  /** The image a container names → what it holds. Throws for an image the runner cannot run. */
  image(ref: string): ImageSpec;
  /** Each container's stdout and stderr go to `<logDir>/<pod>.log`. */
  logDir: string;
  /** Second octet of the pod addresses (127.<octet>.x.y), distinct per cluster on one machine. */
  octet?: number;
  /**
   * Run the containers in real containers instead of processes: `podman run` of the image on a podman
   * network, each pod with its own address in it and every Service name (`--add-host`) standing for
   * the address of the pod behind it; the environment, paths and ports are then the manifests' own.
   */
  podman?: PodmanRuntime;
}

export interface PodmanRuntime {
  /** A podman network with a /24 subnet; pods get `<prefix>.10`, `<prefix>.11`, … */
  network: string;
  subnetPrefix: string;
  /** The image a container names → the local image to run (e.g. `localhost/whitepay/challenger:0.1.0`). */
  imageRef(ref: string): string;
  /** Environment of the podman commands themselves (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF). */
  env: Record<string, string>;
  /** Directory for the env files given to `podman run --env-file`. */
  envDir: string;
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  // biome-ignore lint/suspicious/noExplicitAny: EnvVar / EnvFromSource as rendered
  env?: any[];
  // biome-ignore lint/suspicious/noExplicitAny: as rendered
  envFrom?: any[];
  ports?: { name?: string; containerPort: number }[];
  // biome-ignore lint/suspicious/noExplicitAny: VolumeMount as rendered
  volumeMounts?: any[];
  securityContext?: Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: as rendered
  startupProbe?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as rendered
  readinessProbe?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as rendered
  livenessProbe?: any;
}

export interface Pod {
  name: string;
  owner: string;
  ip: string;
  labels: Record<string, string>;
  container: Container;
  env: Record<string, string>;
  cmd: string;
  args: string[];
  cwd: string;
  /** Volume mounts (emptyDir, secret): container path → host directory. */
  mounts: VolumeMount[];
  ready: boolean;
  restarts: number;
  exits: (number | null)[];
}

class PodProcess {
  child: ChildProcess | undefined;
  stopped = false;
  private readonly log: WriteStream;
  constructor(
    readonly pod: Pod,
    logDir: string,
  ) {
    this.log = createWriteStream(join(logDir, `${pod.name}.log`), { flags: 'a' });
  }
  start(onExit: (code: number | null) => void): void {
    const { pod } = this;
    this.log.write(`--- start ${pod.cmd} ${pod.args.join(' ')} (cwd ${pod.cwd}, ip ${pod.ip})\n`);
    const child = spawn(pod.cmd, pod.args, { cwd: pod.cwd, env: pod.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    child.on('error', (err) => this.log.write(`--- spawn error: ${err.message}\n`));
    child.on('exit', (code, signal) => {
      this.log.write(`--- exit code ${code} signal ${signal}\n`);
      pod.exits.push(code);
      this.child = undefined;
      if (!this.stopped) onExit(code);
    });
    this.child = child;
  }
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((r) => this.log.end(r));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ClusterError extends Error {
  override readonly name = 'ClusterError';
}

/** A Secret key that the manifests do not hold (created by the operator), or undefined. */
export type ExternalSecret = (name: string, key: string) => string | undefined;

function mapOf(
  objects: readonly K8sObject[],
  kind: 'ConfigMap' | 'Secret',
  name: string,
): Record<string, string> | undefined {
  const obj = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!obj) return undefined;
  if (kind === 'ConfigMap') return { ...obj.data };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return { ...out, ...obj.stringData };
}

/**
 * A container's environment exactly as a kubelet builds it: `envFrom` first, then `env` (later wins);
 * ConfigMap and Secret references resolved from the manifests, or through `external` for Secrets the
 * operator creates. A missing non-optional reference is an error, as it keeps a pod from starting.
 */
export function containerEnv(
  objects: readonly K8sObject[],
  external: ExternalSecret,
  podName: string,
  // biome-ignore lint/suspicious/noExplicitAny: EnvVar / EnvFromSource as rendered
  c: { env?: any[]; envFrom?: any[] },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'ConfigMap' : 'Secret';
    const data = mapOf(objects, kind, ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new ClusterError(`${podName}: ${kind} ${ref.name} (envFrom) does not exist`);
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef;
      const kind = e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
      const inManifests = mapOf(objects, kind, ref.name);
      const v = inManifests
        ? inManifests[ref.key]
        : kind === 'Secret'
          ? external(ref.name, ref.key)
          : undefined;
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ClusterError(
          `${podName}: ${e.name} refers to ${kind} ${ref.name} key ${ref.key}, which does not exist`,
        );
      }
      env[e.name] = v;
    } else if (e.valueFrom) {
      throw new ClusterError(`${podName}: ${e.name}: valueFrom ${Object.keys(e.valueFrom)} is not supported`);
    } else env[e.name] = '';
  }
  return env;
}

/** One volume mount of a pod, laid out on this machine. */
export interface VolumeMount {
  /** The container path. */
  path: string;
  /** The host directory holding the volume's content. */
  host: string;
  kind: 'emptyDir' | 'secret';
  readOnly: boolean;
}

/** A Secret's keys: from the manifests, else created outside them (`secrets` of the cluster), else undefined. */
export type SecretSource = (name: string) => Record<string, string> | undefined;

/** A Secret volume's default file mode when neither `items[].mode` nor `defaultMode` is set (0644). */
const DEFAULT_SECRET_MODE = 0o644;

/**
 * The volumes one container mounts, laid out under `hostRoot/<volume>` as a kubelet lays them out: an
 * emptyDir an empty directory; a secret volume its Secret's keys as files (every key, or its `items` at
 * their paths), each with `items[].mode`, else `defaultMode`, else 0644. A missing Secret or item key is
 * an error (the pod cannot start) unless the volume is `optional`, when it is left out. `extraMode` is
 * or-ed into every file's mode (what fsGroup adds on a node). Other volume kinds and `subPath` are refused.
 */
export function podVolumes(
  objects: readonly K8sObject[],
  external: SecretSource,
  podName: string,
  // biome-ignore lint/suspicious/noExplicitAny: Volume / VolumeMount as rendered
  podSpec: { volumes?: any[] },
  // biome-ignore lint/suspicious/noExplicitAny: VolumeMount as rendered
  container: { volumeMounts?: any[] },
  hostRoot: string,
  extraMode = 0,
): VolumeMount[] {
  const out: VolumeMount[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = podSpec.volumes?.find((x) => x.name === m.name);
    if (!v) throw new ClusterError(`${podName}: volume ${m.name} is not defined`);
    if (m.subPath) throw new ClusterError(`${podName}: volume ${m.name}: subPath is not supported`);
    const host = join(hostRoot, m.name);
    mkdirSync(host, { recursive: true });
    if (v.secret) writeSecretVolume(objects, external, podName, v.name, v.secret, host, extraMode);
    else if (!v.emptyDir)
      throw new ClusterError(`${podName}: volume ${m.name} is neither an emptyDir nor a secret`);
    out.push({
      path: m.mountPath,
      host,
      kind: v.secret ? 'secret' : 'emptyDir',
      readOnly: m.readOnly === true || Boolean(v.secret),
    });
  }
  return out;
}

function writeSecretVolume(
  objects: readonly K8sObject[],
  external: SecretSource,
  podName: string,
  volume: string,
  spec: {
    secretName: string;
    items?: { key: string; path: string; mode?: number }[];
    defaultMode?: number;
    optional?: boolean;
  },
  host: string,
  extraMode: number,
): void {
  const data = mapOf(objects, 'Secret', spec.secretName) ?? external(spec.secretName);
  if (!data) {
    if (spec.optional) return;
    throw new ClusterError(`${podName}: volume ${volume}: Secret ${spec.secretName} does not exist`);
  }
  const items: { key: string; path: string; mode?: number }[] =
    spec.items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) {
      if (spec.optional) continue;
      throw new ClusterError(
        `${podName}: volume ${volume}: Secret ${spec.secretName} has no key ${item.key}`,
      );
    }
    const rel = normalize(item.path);
    if (rel.startsWith('..') || rel.startsWith('/'))
      throw new ClusterError(`${podName}: volume ${volume}: item path ${item.path} leaves the volume`);
    const mode = (item.mode ?? spec.defaultMode ?? DEFAULT_SECRET_MODE) | extraMode;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777)
      throw new ClusterError(`${podName}: volume ${volume}: file mode ${mode} is not 0..0777`);
    const file = join(host, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, value, { mode });
    chmodSync(file, mode);
  }
}

/** A value naming a path under one of `mounts` → the same path under the host directory behind it. */
export function mountedPath(value: string, mounts: readonly VolumeMount[]): string {
  for (const m of mounts)
    if (value === m.path || value.startsWith(`${m.path}/`)) return m.host + value.slice(m.path.length);
  return value;
}

export class LoopbackCluster {
  readonly pods: Pod[] = [];
  private readonly procs = new Map<string, PodProcess>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextIp = 2;
  private readonly octet: number;

  constructor(private readonly o: ClusterOptions) {
    this.octet = o.octet ?? 77;
    mkdirSync(o.logDir, { recursive: true });
  }

  private objects(kind: string): K8sObject[] {
    return this.o.objects.filter((x) => x.kind === kind);
  }

  private allocIp(): string {
    const n = this.nextIp++;
    if (this.o.podman) {
      if (n + 8 > 250) throw new ClusterError('more pods than the podman subnet holds');
      return `${this.o.podman.subnetPrefix}.${n + 8}`;
    }
    return `127.${this.octet}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
  }

  /** Pods selected by a Service. */
  private podsOf(selector: Record<string, string>): Pod[] {
    return this.pods.filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v));
  }

  /**
   * Rewrites the cluster's names in one value: `0.0.0.0` → the pod's own address; a Service name (short,
   * namespaced or fully qualified) → the address of the first pod behind it, and `name:port` → that
   * address and the Service's target port.
   */
  private resolveNames(value: string, self: Pod): string {
    let out = value.replace(/(^|[^0-9.])0\.0\.0\.0(?![0-9.])/g, `$1${self.ip}`);
    const ns = this.o.namespace;
    for (const svc of this.objects('Service')) {
      const name = svc.metadata.name;
      const target = this.podsOf(svc.spec.selector ?? {})[0];
      if (!target) continue;
      const forms = [`${name}.${ns}.svc.cluster.local`, `${name}.${ns}.svc`, `${name}.${ns}`, name];
      for (const form of forms) {
        const re = new RegExp(
          `(^|[^A-Za-z0-9.-])${form.replaceAll('.', '\\.')}(?::(\\d+))?(?![A-Za-z0-9.-])`,
          'g',
        );
        out = out.replace(re, (_m, pre: string, port: string | undefined) => {
          if (port === undefined) return `${pre}${target.ip}`;
          const sp = (svc.spec.ports ?? []).find((p: { port: number }) => String(p.port) === port);
          if (!sp) throw new ClusterError(`${self.name}: ${form}:${port} is not a port of Service ${name}`);
          return `${pre}${target.ip}:${this.containerPort(target, sp.targetPort ?? sp.port)}`;
        });
      }
    }
    return out;
  }

  /** A Secret of the manifests or created outside them, by name. */
  private readonly secretSource: SecretSource = (name) => this.o.secrets?.[name];

  private containerPort(pod: Pod, port: number | string): number {
    if (typeof port === 'number') return port;
    if (/^\d+$/.test(port)) return Number(port);
    const p = pod.container.ports?.find((x) => x.name === port);
    if (!p) throw new ClusterError(`${pod.name}: no container port named ${port}`);
    return p.containerPort;
  }

  /** Creates the pods of every Deployment (one per replica) and Job; nothing runs yet. */
  plan(): void {
    const add = (
      owner: string,
      i: number,
      spec: {
        metadata?: { labels?: Record<string, string> };
        // biome-ignore lint/suspicious/noExplicitAny: Volume as rendered
        spec: { containers: Container[]; volumes?: any[] };
      },
    ) => {
      if ((spec.spec as { initContainers?: unknown[] }).initContainers?.length)
        throw new ClusterError(`${owner}: init containers are not supported`);
      const [c, ...sidecars] = spec.spec.containers;
      if (!c) throw new ClusterError(`${owner}: no container`);
      if (sidecars.length > 0) throw new ClusterError(`${owner}: sidecars are not supported`);
      const name = `${owner}-${i}`;
      const image = this.o.podman ? undefined : this.o.image(c.image);
      const pod: Pod = {
        name,
        owner,
        ip: this.allocIp(),
        labels: spec.metadata?.labels ?? {},
        container: c,
        env: {},
        cmd: '',
        args: [],
        cwd: '',
        mounts: [],
        ready: false,
        restarts: 0,
        exits: [],
      };
      // The volumes, in the pod's own directory. Under rootless podman the host user is the container's
      // root, so the container's user reads a Secret's files through their other-read bit, where a
      // kubelet would make them readable by the pod's fsGroup.
      pod.mounts = podVolumes(
        this.o.objects,
        this.secretSource,
        name,
        spec.spec,
        c,
        join(this.o.logDir, 'volumes', name),
        this.o.podman ? 0o044 : 0,
      );
      if (!image) {
        this.pods.push(pod);
        return;
      }
      const argv = c.command
        ? [...c.command, ...(c.args ?? [])]
        : [...image.cmd.slice(0, 1), ...(c.args ?? image.cmd.slice(1))];
      if (argv[0] !== 'node')
        throw new ClusterError(`${name}: runs ${argv[0]}; only node containers are supported`);
      pod.cmd = process.execPath;
      pod.args = argv.slice(1).map((a) => (a.startsWith('/') ? image.hostPath(a) : a));
      pod.cwd = image.hostPath(c.workingDir ?? image.workdir);
      this.pods.push(pod);
    };
    for (const d of this.objects('Deployment'))
      for (let i = 0; i < (d.spec.replicas ?? 1); i++) add(d.metadata.name, i, d.spec.template);
    for (const j of this.objects('Job')) add(j.metadata.name, 0, j.spec.template);
    // Environments last: a Service name resolves to pods that all exist now.
    if (this.o.podman) {
      for (const pod of this.pods) this.planPodman(pod, this.o.podman);
      return;
    }
    for (const pod of this.pods) {
      const raw = containerEnv(
        this.o.objects,
        (name, key) => this.o.secrets?.[name]?.[key],
        pod.name,
        pod.container,
      );
      const env: Record<string, string> = { ...this.o.image(pod.container.image).env };
      for (const [k, v] of Object.entries(raw)) env[k] = mountedPath(this.resolveNames(v, pod), pod.mounts);
      // What every container has besides its manifest's variables (a kubelet sets HOSTNAME too).
      pod.env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOSTNAME: pod.name, ...env };
    }
  }

  /**
   * `podman run` of one pod: its image, user, read-only root, emptyDirs as tmpfs, secret volumes bound
   * read-only, env file, address, hosts.
   */
  private planPodman(pod: Pod, rt: PodmanRuntime): void {
    const c = pod.container;
    const owner = [...this.objects('Deployment'), ...this.objects('Job')].find(
      (o) => o.metadata.name === pod.owner,
    )!;
    const podSpec = owner.spec.template.spec;
    const env = containerEnv(this.o.objects, (name, key) => this.o.secrets?.[name]?.[key], pod.name, c);
    const envFile = join(rt.envDir, `${pod.name}.env`);
    for (const [k, v] of Object.entries(env))
      if (/[\n\r]/.test(v))
        throw new ClusterError(`${pod.name}: ${k} holds a newline (not expressible in an env file)`);
    writeFileSync(
      envFile,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
      { mode: 0o600 },
    );
    const hosts: string[] = [];
    const ns = this.o.namespace;
    for (const svc of this.objects('Service')) {
      const target = this.podsOf(svc.spec.selector ?? {})[0];
      if (!target) continue;
      for (const sp of svc.spec.ports ?? [])
        if (this.containerPort(target, sp.targetPort ?? sp.port) !== sp.port)
          throw new ClusterError(
            `Service ${svc.metadata.name}: port ${sp.port} → another target port cannot be a host alias`,
          );
      const name = svc.metadata.name;
      for (const form of [name, `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.cluster.local`])
        hosts.push('--add-host', `${form}:${target.ip}`);
    }
    const sc = { ...podSpec.securityContext, ...c.securityContext } as {
      runAsUser?: number;
      runAsGroup?: number;
      readOnlyRootFilesystem?: boolean;
    };
    pod.cmd = 'podman';
    pod.args = [
      'run',
      '--rm',
      '--replace',
      '--name',
      `wp-${pod.name}`,
      '--hostname',
      pod.name,
      '--network',
      rt.network,
      '--ip',
      pod.ip,
      ...hosts,
      ...(sc.runAsUser !== undefined ? ['--user', `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`] : []),
      ...(sc.readOnlyRootFilesystem ? ['--read-only'] : []),
      '--cap-drop',
      'all',
      '--security-opt',
      'no-new-privileges',
      // emptyDirs as tmpfs; secret volumes bind-mounted read-only from the pod's directory.
      ...pod.mounts.flatMap((m) =>
        m.kind === 'secret' ? ['--volume', `${m.host}:${m.path}:ro`] : ['--tmpfs', `${m.path}:rw,mode=1777`],
      ),
      '--env-file',
      envFile,
      ...(c.workingDir ? ['--workdir', c.workingDir] : []),
      ...(c.command ? ['--entrypoint', JSON.stringify(c.command)] : []),
      rt.imageRef(c.image),
      ...(c.args ?? []),
    ];
    pod.cwd = rt.envDir;
    pod.env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...rt.env };
  }

  private jobPods(): Pod[] {
    const jobs = new Set(this.objects('Job').map((j) => j.metadata.name));
    return this.pods.filter((p) => jobs.has(p.owner));
  }

  /** Runs every Job's pod to completion (retried up to backoffLimit); throws when one fails for good. */
  async runJobs(timeoutMs = 120_000): Promise<void> {
    for (const pod of this.jobPods()) {
      const job = this.objects('Job').find((j) => j.metadata.name === pod.owner)!;
      const limit = job.spec.backoffLimit ?? 6;
      for (let attempt = 0; ; attempt++) {
        const proc = new PodProcess(pod, this.o.logDir);
        const code = await new Promise<number | null>((resolve) => {
          const timer = setTimeout(() => void proc.stop().then(() => resolve(null)), timeoutMs);
          proc.start((c) => {
            clearTimeout(timer);
            resolve(c);
          });
        });
        await proc.stop();
        if (code === 0) break;
        if (attempt >= limit)
          throw new ClusterError(
            `Job ${pod.owner} failed ${attempt + 1} times (last exit ${code}); see ${this.o.logDir}/${pod.name}.log`,
          );
        pod.restarts++;
        await sleep(Math.min(10_000, 1_000 * 2 ** attempt));
      }
    }
  }

  private async probe(
    pod: Pod,
    probe: { httpGet?: { path: string; port: number | string }; timeoutSeconds?: number } | undefined,
  ): Promise<boolean> {
    if (!probe) return true;
    if (!probe.httpGet) throw new ClusterError(`${pod.name}: only httpGet probes are supported`);
    const url = `http://${pod.ip}:${this.containerPort(pod, probe.httpGet.port)}${probe.httpGet.path}`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000) });
      await res.arrayBuffer();
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }

  /** Starts every Deployment's pods, each with its kubelet loop (probes, restarts with back-off). */
  startDeployments(filter: (pod: Pod) => boolean = () => true): void {
    const jobs = new Set(this.jobPods());
    for (const pod of this.pods.filter((p) => !jobs.has(p) && filter(p))) this.run(pod);
  }

  /**
   * One pod's kubelet loop: start the container; poll its startup probe, then its readiness and liveness
   * probes at their periods; a failed startup or liveness probe kills the container; an exited container
   * is started again after a back-off (10 s doubling, at most 5 min, as the kubelet's CrashLoopBackOff).
   */
  private run(pod: Pod): void {
    const proc = new PodProcess(pod, this.o.logDir);
    this.procs.set(pod.name, proc);
    const c = pod.container;
    let generation = 0;
    const later = (ms: number, gen: number, fn: () => Promise<void>) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!proc.stopped && gen === generation) void fn();
      }, ms);
      this.timers.add(t);
    };
    const kill = () => proc.child?.kill('SIGTERM');
    const launch = () => {
      const gen = ++generation;
      pod.ready = false;
      proc.start(() => {
        pod.ready = false;
        pod.restarts++;
        const backoff = Math.min(300_000, 10_000 * 2 ** Math.min(pod.restarts - 1, 5));
        const next = ++generation;
        later(backoff, next, async () => launch());
      });
      let startupFailures = 0;
      let liveFailures = 0;
      const readiness = async () => {
        pod.ready = await this.probe(pod, c.readinessProbe);
        later((c.readinessProbe?.periodSeconds ?? 10) * 1000, gen, readiness);
      };
      const liveness = async () => {
        if (await this.probe(pod, c.livenessProbe)) liveFailures = 0;
        else if (++liveFailures >= (c.livenessProbe?.failureThreshold ?? 3)) return void kill();
        later((c.livenessProbe?.periodSeconds ?? 10) * 1000, gen, liveness);
      };
      const startup = async () => {
        if (await this.probe(pod, c.startupProbe)) {
          await readiness();
          later((c.livenessProbe?.periodSeconds ?? 10) * 1000, gen, liveness);
          return;
        }
        if (++startupFailures >= (c.startupProbe?.failureThreshold ?? 3)) return void kill();
        later((c.startupProbe?.periodSeconds ?? 10) * 1000, gen, startup);
      };
      // A kubelet starts probing once the container runs; under podman, creating it (copying the
      // image's layers on vfs) comes first and takes seconds to minutes.
      const created = async () => {
        if (!this.o.podman || (await this.containerRunning(pod)))
          return later((c.startupProbe?.initialDelaySeconds ?? 0) * 1000, gen, startup);
        later(1_000, gen, created);
      };
      void created();
    };
    launch();
  }

  private containerRunning(pod: Pod): Promise<boolean> {
    return new Promise((resolve) => {
      const child = spawn(
        'podman',
        ['container', 'inspect', '--format', '{{.State.Running}}', `wp-${pod.name}`],
        {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.o.podman?.env },
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let out = '';
      child.stdout.on('data', (d) => {
        out += String(d);
      });
      child.on('error', () => resolve(false));
      child.on('exit', () => resolve(out.trim() === 'true'));
    });
  }

  /** Waits until every running pod is ready (its readiness probe passed), or throws naming the ones that are not. */
  async waitReady(timeoutMs: number, progress: (line: string) => void = () => {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 0;
    for (;;) {
      const running = this.pods.filter((p) => this.procs.has(p.name));
      const waiting = running.filter((p) => !p.ready);
      if (waiting.length === 0) return;
      if (Date.now() > deadline)
        throw new ClusterError(
          `not ready after ${timeoutMs} ms: ${waiting.map((p) => `${p.name} (restarts ${p.restarts}, exits ${p.exits.join(',') || 'none'}; ${this.o.logDir}/${p.name}.log)`).join('; ')}`,
        );
      if (Date.now() - last > 10_000) {
        last = Date.now();
        progress(`${running.length - waiting.length}/${running.length} pods ready`);
      }
      await sleep(250);
    }
  }

  /** The address and target port a Service name stands for (for the test's own calls into the cluster). */
  serviceAddress(name: string, port: number): string {
    const svc = this.objects('Service').find((s) => s.metadata.name === name);
    if (!svc) throw new ClusterError(`no Service ${name}`);
    const pod = this.podsOf(svc.spec.selector ?? {})[0];
    if (!pod) throw new ClusterError(`Service ${name} selects no pod`);
    const sp = (svc.spec.ports ?? []).find((p: { port: number }) => p.port === port);
    if (!sp) throw new ClusterError(`Service ${name} has no port ${port}`);
    return `${pod.ip}:${this.containerPort(pod, sp.targetPort ?? sp.port)}`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.procs.values()].map((p) => p.stop()));
    this.procs.clear();
  }
}
