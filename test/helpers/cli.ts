import { PassThrough, Readable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/run.js';

export interface CapturedIo extends CliIo {
  out(): string;
  err(): string;
}

/** CLI streams that collect what a command prints, for in-process command tests. */
export function captureIo(
  options: { cwd?: string; stdin?: string; env?: NodeJS.ProcessEnv } = {},
): CapturedIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(Buffer.from(chunk)));
  stderr.on('data', (chunk: Buffer) => err.push(Buffer.from(chunk)));
  return {
    stdout,
    stderr,
    stdin: options.stdin === undefined ? new PassThrough() : Readable.from([options.stdin]),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    out: () => Buffer.concat(out).toString(),
    err: () => Buffer.concat(err).toString(),
  };
}

/** `doorbell …args` in this process, as src/cli/main.ts runs it. */
export async function runInProcess(args: string[], options: { cwd?: string; stdin?: string } = {}) {
  const io = captureIo(options);
  const code = await runCli(args, io);
  return { code, stdout: io.out(), stderr: io.err() };
}
