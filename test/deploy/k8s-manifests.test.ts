import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { command as fleetCommand } from '../../src/cli/commands/fleet.js';
import { command as startCommand } from '../../src/cli/commands/start.js';
import { k8sProblems } from '../helpers/k8s-schema.js';
import { REPO_ROOT } from '../helpers/mqtt.js';

const K8S_DIR = join(REPO_ROOT, 'deploy', 'k8s');

interface Manifest {
  file: string;
  doc: Record<string, unknown> & {
    kind?: string;
    metadata?: { name?: string };
    spec?: Record<string, unknown>;
  };
}

function manifests(): Manifest[] {
  return readdirSync(K8S_DIR)
    .filter((name) => name.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8')).map((document) => {
        expect(document.errors, file).toEqual([]);
        return { file, doc: document.toJS() as Manifest['doc'] };
      }),
    );
}

function named(kind: string, name: string): Manifest['doc'] {
  const found = manifests().find((m) => m.doc.kind === kind && m.doc.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found.doc;
}

// biome-ignore lint/suspicious/noExplicitAny: walking arbitrary manifest JSON
type Any = any;

/** Every `--flag` of a container's args must be an option the doorbell command declares. */
function flagsOf(args: string[]): string[] {
  return args.filter((arg) => arg.startsWith('--')).map((arg) => arg.slice(2));
}

describe('deploy/k8s', () => {
  it('every manifest validates against the Kubernetes API schemas, unknown fields included', () => {
    const all = manifests();
    expect(all.length).toBeGreaterThanOrEqual(5);
    const problems = all.flatMap(({ file, doc }) => k8sProblems(doc, `${file} ${doc.kind}`));
    expect(problems).toEqual([]);
  });

  it('the validator catches what the API server would refuse or silently drop', () => {
    const job = structuredClone(named('Job', 'doorbell-fleet')) as Any;
    job.spec.completionMode = 'indexed';
    job.spec.template.spec.containers[0].volumeMount = job.spec.template.spec.containers[0].volumeMounts;
    job.spec.parallelism = '10';
    const problems = k8sProblems(job, 'job').join('\n');
    expect(problems).toContain('completionMode');
    expect(problems).toContain('parallelism');
    expect(problems).toContain('job.spec.template.spec.containers[0].volumeMount: unknown field');
  });

  it('the fleet Job: one shard per index from JOB_COMPLETION_INDEX, summaries on a shared volume, then a merge', () => {
    const job = named('Job', 'doorbell-fleet') as Any;
    expect(job.spec.completionMode).toBe('Indexed');
    const shards = job.spec.completions;
    expect(job.spec.parallelism).toBe(shards);
    const container = job.spec.template.spec.containers[0];
    const args: string[] = container.args;
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    expect(args[0]).toBe('fleet');
    expect(value('--shard')).toBe(`$(JOB_COMPLETION_INDEX)/${shards}`);
    const index = container.env.find((e: Any) => e.name === 'JOB_COMPLETION_INDEX');
    expect(index.valueFrom.fieldRef.fieldPath).toBe(
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    );
    const declared = Object.keys(fleetCommand.options ?? {});
    for (const flag of flagsOf(args)) expect(declared, `--${flag}`).toContain(flag);
    const mount = container.volumeMounts[0].mountPath;
    expect(value('--summary')).toBe(`${mount}/shard-$(JOB_COMPLETION_INDEX).json`);
    const claim = job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName;

    const merge = named('Job', 'doorbell-fleet-merge') as Any;
    const mergeSpec = merge.spec.template.spec;
    expect(mergeSpec.volumes[0].persistentVolumeClaim.claimName).toBe(claim);
    const script: string = mergeSpec.containers[0].args[0];
    expect(script).toContain(`fleet merge ${mergeSpec.containers[0].volumeMounts[0].mountPath}/shard-*.json`);
    const mergeFlags = script.match(/--[a-z0-9-]+/g)!.map((f) => f.slice(2));
    for (const flag of mergeFlags) expect(declared, `--${flag}`).toContain(flag);
    expect(named('PersistentVolumeClaim', claim)).toBeDefined();
  });

  it('the agent Deployment runs doorbell start with flags it has, and serves metrics where it is scraped', () => {
    const deployment = named('Deployment', 'doorbell-agent') as Any;
    expect(deployment.spec.replicas).toBe(1);
    const container = deployment.spec.template.spec.containers[0];
    expect(container.args[0]).toBe('start');
    const declared = Object.keys(startCommand.options ?? {});
    for (const flag of flagsOf(container.args)) expect(declared, `--${flag}`).toContain(flag);
    const port = Number(container.args[container.args.indexOf('--metrics-port') + 1]);
    expect(container.ports[0].containerPort).toBe(port);
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(port));
  });

  it('the Dockerfile builds from Node 20 slim and copies only what exists', () => {
    const dockerfile = readFileSync(join(K8S_DIR, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/^node:20-[a-z]+-slim$/);
    for (const match of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
      for (const source of match[1]!.split(' '))
        expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "dist/cli/main.js"]');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.bin.doorbell).toBe('dist/cli/main.js');
    for (const installer of ['@ffmpeg-installer/ffmpeg', '@ffprobe-installer/ffprobe'])
      expect(Object.keys(pkg.dependencies)).toContain(installer);
  });
});
