/** What a CLI command may touch: its streams and environment. Commands return an exit code. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CliCommand {
  /** One line for `doorbell help`. */
  summary: string;
  usage: string;
  /** Every option it takes (of every action), as its spec declares them. */
  options?: Readonly<Record<string, { env?: string }>>;
  run(args: string[], io: CliIo): Promise<number>;
}

export { UserError } from '../util/user-error.js';

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
}

export function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(line.endsWith('\n') ? line : `${line}\n`);
}

/** Seconds after the first SIGINT/SIGTERM within which another one is the same request to stop. */
const REPEATED_SIGNAL_MS = 2_000;

/**
 * Resolves with the first SIGINT or SIGTERM. `npm start` forwards the terminal's Ctrl+C, so one press arrives
 * twice: a repeat within 2 s is ignored (the clean stop goes on); a later one forces the exit (130).
 */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let firstAt: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (firstAt === undefined) {
        firstAt = performance.now();
        resolve(signal);
      } else if (performance.now() - firstAt > REPEATED_SIGNAL_MS) {
        process.exit(130);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
