import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createLogger } from '../../log/logger.js';
import { goldenPathFor } from '../../replay/golden.js';
import { type JunitSuite, junitXml } from '../../replay/junit.js';
import { type ReplayProgress, runScenario } from '../../replay/runner.js';
import { loadScenario, type ResolvedScenario, scenarioJsonSchema } from '../../replay/scenario.js';
import { type GoldenCheck, replayVerdict } from '../../replay/verdict.js';
import { type CliIo, UserError, writeLine } from '../io.js';
import { defineCommand } from '../spec.js';

export const command = defineCommand('replay', {
  summary: 'replay scenarios on a virtual clock; write, or compare against, golden event tapes',
  synopsis: 'SCENARIO… [options]',
  about: 'SCENARIO: a name in fixtures/scenarios or a JSON file',
  positionals: true,
  options: {
    golden: { type: 'boolean', help: 'compare with <scenario>.tape.jsonl next to the scenario' },
    expect: { type: 'string', value: 'TAPE', help: 'compare with this tape (one scenario)' },
    update: { type: 'boolean', help: 'rewrite the golden tape (or --expect TAPE) instead of comparing' },
    record: { type: 'string', value: 'TAPE', help: 'write the tape to this file (one scenario)' },
    speed: { type: 'string', value: 'max|N', help: 'max (default) or N virtual seconds per real second' },
    junit: { type: 'string', value: 'FILE', help: 'write a JUnit XML report' },
    keep: { type: 'boolean', help: 'keep the temporary data dir and bucket, and print where' },
    verbose: { type: 'boolean', help: "print the device's log" },
    schema: { type: 'boolean', help: 'print the scenario JSON Schema and exit' },
  },
  async run({ values, positionals }, io) {
    if (values.schema) {
      writeLine(io.stdout, JSON.stringify(scenarioJsonSchema(), null, 2));
      return 0;
    }
    if (positionals.length === 0) throw new UserError('replay which scenario? doorbell replay SCENARIO');
    if (positionals.length > 1 && (values.record || values.expect)) {
      throw new UserError('--record and --expect take one scenario; use --golden for several');
    }
    const speed = speedFrom(values.speed);
    const loaded = [];
    for (const target of positionals) {
      const scenario = await loadScenario(target, io.cwd);
      if (!scenario.ok) {
        for (const error of scenario.errors) writeLine(io.stderr, error);
        throw new UserError(`${scenario.errors.length} problem(s) in the scenario ${target}`, 2);
      }
      loaded.push(scenario.value);
    }
    const suites: JunitSuite[] = [];
    let failed = false;
    for (const resolved of loaded) {
      const outcome = await replayOne(resolved, values, speed, io);
      suites.push(outcome.suite);
      failed ||= outcome.failed;
    }
    if (values.junit) writeFile(resolve(io.cwd, values.junit), junitXml(suites));
    return failed ? 1 : 0;
  },
});

interface ReplayFlags {
  record?: string | undefined;
  expect?: string | undefined;
  golden?: boolean | undefined;
  update?: boolean | undefined;
  keep?: boolean | undefined;
  verbose?: boolean | undefined;
}

async function replayOne(
  resolved: ResolvedScenario,
  values: ReplayFlags,
  speed: number | 'max',
  io: CliIo,
): Promise<{ suite: JunitSuite; failed: boolean }> {
  const { scenario } = resolved;
  const goldenPath = values.expect
    ? resolve(io.cwd, values.expect)
    : values.update || values.golden
      ? goldenPathFor(resolved.source)
      : undefined;
  const bar = progressBar(io);
  const result = await runScenario(resolved, {
    speed,
    ...(values.keep ? { keepWorkDir: true } : {}),
    ...(values.verbose ? { logger: createLogger({ deviceId: scenario.device.id }) } : {}),
    ...(bar ? { onProgress: bar.update } : {}),
  }).finally(() => bar?.done());

  if (values.record) writeFile(resolve(io.cwd, values.record), result.text);
  if (goldenPath && values.update) writeFile(goldenPath, result.text);
  const goldenText = goldenPath && !values.update ? readGolden(goldenPath) : undefined;
  const golden: GoldenCheck | undefined = !goldenPath
    ? undefined
    : values.update
      ? { path: goldenPath, updated: true }
      : goldenText === undefined
        ? undefined
        : { path: goldenPath, text: goldenText };
  const verdict = replayVerdict(result, golden);
  for (const line of verdict.lines) writeLine(io.stdout, line);
  if (goldenPath && !values.update && goldenText === undefined) {
    throw new UserError(`${goldenPath}: cannot read the golden tape (record one with --update)`, 2);
  }
  return verdict;
}

function readGolden(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function speedFrom(value: string | undefined): number | 'max' {
  if (value === undefined || value === 'max') return 'max';
  const speed = Number(value);
  if (!Number.isFinite(speed) || speed <= 0) {
    throw new UserError(`--speed ${JSON.stringify(value)}: use "max" or a number > 0 (1 = real time)`);
  }
  return speed;
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** A one-line progress bar on stderr, only on a terminal. */
function progressBar(
  io: CliIo,
): { update: (progress: ReplayProgress) => void; done: () => void } | undefined {
  const stream = io.stderr as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  if (!stream.isTTY) return undefined;
  let last = 0;
  return {
    update(progress) {
      const now = performance.now();
      if (now - last < 80 && progress.simMs < progress.durationMs) return;
      last = now;
      const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50));
      const share = Math.min(1, progress.simMs / progress.durationMs);
      const filled = Math.round(share * width);
      const counts = progress.counts;
      stream.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(progress.simMs / 1000).toFixed(1)}/${(progress.durationMs / 1000).toFixed(1)} s  ` +
          `ding ${counts['ding'] ?? 0} motion ${counts['motion'] ?? 0} clip ${counts['clip'] ?? 0}  `,
      );
    },
    done() {
      stream.write('\r\u001b[K');
    },
  };
}
