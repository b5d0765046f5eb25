/**
 * The determinism matrix: every committed scenario replayed against its golden tape under conditions that stand in
 * for "another machine" — other ffmpeg builds, CPU-specific code paths switched off, an emulated older CPU, one CPU,
 * another time zone and locale. Used by `npm run test:determinism` (all of it) and by a test in `npm test` (the
 * cheap part).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findOnPath, locateFfmpeg } from '../../src/video/locate.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const SCENARIO_DIR = join(REPO_ROOT, 'fixtures/scenarios');
/** The CLI from source (tsx), so the matrix never replays a stale build. */
const CLI = ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts')];

export interface Variant {
  name: string;
  /** What it stands for, printed with the results. */
  why: string;
  /** Environment on top of the current one. */
  env: Record<string, string>;
  /** A command the replay runs under (e.g. taskset). */
  prefix?: string[];
  /** Why it cannot run here, or undefined when it can. */
  unavailable?: string;
  /** Part of `npm test` (fast), or only of the full matrix. */
  cheap: boolean;
  /** Only these committed scenarios (an emulated CPU is too slow for all of them); undefined: every one. */
  scenarios?: readonly string[];
}

/**
 * The scenarios an emulated CPU replays: between them every picture the device makes (1080p30 clips, snapshots,
 * thumbnails, privacy masks, a lightswitch that must stay silent). The others repeat the same encodes and cost
 * several minutes each under qemu, where x264 at 1080p runs ≈16× slower than native.
 */
export const EMULATED_CPU_SCENARIOS = ['porch-light-at-night', 'privacy-zones', 'visitor-rings'] as const;

/** Writes an executable shell wrapper and returns its path. */
function wrapper(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** The folder of this process's ffmpeg wrappers, made once and removed when the process exits. */
let wrapperDir: string | undefined;
function wrappers(): string {
  if (!wrapperDir) {
    const dir = mkdtempSync(join(tmpdir(), 'doorbell-determinism-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    wrapperDir = dir;
  }
  return wrapperDir;
}

/** Every variant of the matrix, with the ffmpeg wrappers they run written (once per process). */
export function prepareVariants(): Variant[] {
  const dir = wrappers();
  // With no DOORBELL_FFMPEG and no PATH, the locator falls back to the bundled static build.
  const bundled = locateFfmpeg({});
  const system = ['/usr/bin', '/usr/local/bin'].find((bin) => existsSync(join(bin, 'ffmpeg')));
  const onSystem = system
    ? { DOORBELL_FFMPEG: join(system, 'ffmpeg'), DOORBELL_FFPROBE: join(system, 'ffprobe') }
    : undefined;
  const qemu = findOnPath('qemu-x86_64');
  const taskset = findOnPath('taskset');
  const onBundled = { DOORBELL_FFMPEG: bundled.ffmpeg, DOORBELL_FFPROBE: bundled.ffprobe };
  const noSimd = (name: string, ffmpeg: string) =>
    wrapper(dir, `${name}-no-simd`, `exec ${ffmpeg} -cpuflags 0 "$@"`);
  // x264 has its own CPU detection, untouched by -cpuflags: its "asm=0" parameter turns its assembly off.
  const x264NoAsm = wrapper(
    dir,
    'x264-noasm',
    [
      'args=(); prev=',
      'for a in "$@"; do',
      '  if [ "$prev" = "-x264-params" ]; then a="$a:asm=0"; fi',
      '  args+=("$a"); prev=$a',
      'done',
      `exec ${bundled.ffmpeg} "\${args[@]}"`,
    ].join('\n'),
  );
  const nehalem = wrapper(
    dir,
    'nehalem',
    `exec ${qemu ?? 'qemu-x86_64'} -cpu Nehalem ${bundled.ffmpeg} "$@"`,
  );
  const out: Variant[] = [
    { name: 'bundled-ffmpeg', why: 'the static 2018 build npm installs', env: onBundled, cheap: false },
    {
      name: 'system-ffmpeg',
      why: "the distribution's ffmpeg (Debian: 5.1)",
      env: onSystem ?? {},
      cheap: false,
      ...(onSystem
        ? {}
        : { unavailable: 'no ffmpeg in /usr/bin or /usr/local/bin (apt-get install ffmpeg)' }),
    },
    {
      name: 'bundled-no-simd',
      why: 'libav* SIMD off (-cpuflags 0): scaling, pixel formats, JPEG take their C paths',
      env: { ...onBundled, DOORBELL_FFMPEG: noSimd('bundled', bundled.ffmpeg) },
      cheap: true,
    },
    {
      name: 'system-no-simd',
      why: "the distribution's ffmpeg with -cpuflags 0",
      env: onSystem ? { ...onSystem, DOORBELL_FFMPEG: noSimd('system', onSystem.DOORBELL_FFMPEG) } : {},
      cheap: false,
      ...(onSystem
        ? {}
        : { unavailable: 'no ffmpeg in /usr/bin or /usr/local/bin (apt-get install ffmpeg)' }),
    },
    {
      name: 'x264-no-asm',
      why: "x264's assembly off (asm=0)",
      env: { ...onBundled, DOORBELL_FFMPEG: x264NoAsm },
      cheap: false,
    },
    {
      name: 'sharp-no-simd',
      why: "libvips' vector paths and libjpeg-turbo's SIMD off (VIPS_NOVECTOR, JSIMD_FORCENONE)",
      env: { ...onBundled, VIPS_NOVECTOR: '1', JSIMD_FORCENONE: '1' },
      cheap: false,
    },
    {
      name: 'nehalem-cpu',
      why: 'the bundled ffmpeg (not sharp) on an emulated 2008 CPU (qemu-user -cpu Nehalem: no AVX)',
      env: { ...onBundled, DOORBELL_FFMPEG: nehalem },
      cheap: false,
      scenarios: EMULATED_CPU_SCENARIOS,
      ...(qemu ? {} : { unavailable: 'qemu-x86_64 is not installed (apt-get install qemu-user)' }),
    },
    {
      name: 'one-cpu',
      why: 'the whole replay pinned to one CPU (taskset -c 0)',
      env: onBundled,
      ...(taskset ? { prefix: [taskset, '-c', '0'] } : { unavailable: 'taskset is not installed' }),
      cheap: false,
    },
    {
      name: 'chatham-turkish',
      why: 'another time zone and locale (TZ=Pacific/Chatham, LANG=tr_TR.UTF-8)',
      env: { ...onBundled, TZ: 'Pacific/Chatham', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8' },
      cheap: true,
    },
  ];
  return out;
}

/** The committed scenarios that have a golden tape, by name. */
export function committedScenarios(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((file) => file.endsWith('.tape.jsonl'))
    .map((file) => file.slice(0, -'.tape.jsonl'.length))
    .sort();
}

export interface CellResult {
  variant: string;
  scenario: string;
  ok: boolean;
  seconds: number;
  /** The replay's report when it failed (first lines). */
  detail: string;
}

/** One replay may take this long (an emulated CPU is ≈5× slower); then it is killed and counts as failed. */
const REPLAY_TIMEOUT_MS = 10 * 60_000;

/** `doorbell replay <scenario> --golden` under a variant, as a child process. */
export function replayUnder(variant: Variant, scenario: string): Promise<CellResult> {
  const started = performance.now();
  const replay = [process.execPath, ...CLI, 'replay', join(SCENARIO_DIR, `${scenario}.json`), '--golden'];
  const [command, ...args] = [...(variant.prefix ?? []), ...replay] as [string, ...string[]];
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...variant.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\nkilled: no result after ${REPLAY_TIMEOUT_MS / 60_000} minutes`;
      child.kill('SIGKILL');
    }, REPLAY_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ok = code === 0;
      // The replay's own report: everything after its progress and expectation lines.
      const detail = ok
        ? ''
        : output
            .split('\n')
            .filter((line) => line.trim() !== '' && !/^\s+ok\s/.test(line) && !line.startsWith('replayed '))
            .slice(0, 12)
            .join('\n');
      done({ variant: variant.name, scenario, ok, seconds: (performance.now() - started) / 1000, detail });
    });
  });
}

export function formatCell(cell: CellResult): string {
  const head = `${cell.ok ? 'ok  ' : 'FAIL'} ${cell.variant.padEnd(16)} ${cell.scenario.padEnd(22)} ${cell.seconds.toFixed(1).padStart(6)} s`;
  return cell.ok ? head : `${head}\n${cell.detail.replace(/^/gm, '       ')}`;
}
