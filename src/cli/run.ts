import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../config/paths.js';
import { type CliCommand, type CliIo, UserError, writeLine } from './io.js';

type CommandModule = { command: CliCommand };

/** Every `doorbell` command, loaded only when used (start pulls in far more than `press` needs). */
export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  start: () => import('./commands/start.js'),
  press: () => import('./commands/press.js'),
  motion: () => import('./commands/motion.js'),
  replay: () => import('./commands/replay.js'),
  fleet: () => import('./commands/fleet.js'),
  profiles: () => import('./commands/profiles.js'),
  schema: () => import('./commands/schema.js'),
  broker: () => import('./commands/broker.js'),
  auth: () => import('./commands/auth.js'),
  retention: () => import('./commands/retention.js'),
  hold: () => import('./commands/hold.js'),
  bucket: () => import('./commands/bucket.js'),
  keys: () => import('./commands/keys.js'),
  decrypt: () => import('./commands/decrypt.js'),
  audit: () => import('./commands/audit.js'),
};

export async function loadCommand(name: string): Promise<CliCommand | undefined> {
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  return load ? (await load()).command : undefined;
}

async function printHelp(io: CliIo): Promise<void> {
  writeLine(io.stdout, 'Usage: doorbell <command> [options]\n\nCommands:');
  for (const name of Object.keys(COMMANDS)) {
    const command = await loadCommand(name);
    if (command) writeLine(io.stdout, `  ${name.padEnd(12)} ${command.summary}`);
  }
  writeLine(
    io.stdout,
    '\nRun `doorbell <command> --help` for its options; `doorbell --version` for the version.',
  );
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** Runs one `doorbell …` invocation; user errors become one line on stderr and an exit code, never a stack. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    writeLine(io.stdout, packageVersion());
    return 0;
  }
  if (name === 'help' && rest[0] !== undefined) return runCli([rest[0], '--help'], io);
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    await printHelp(io);
    return name ? 0 : 2;
  }
  const command = await loadCommand(name);
  if (!command) {
    writeLine(io.stderr, `doorbell: unknown command "${name}" (try: doorbell help)`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    writeLine(io.stdout, `${command.summary}\n\nUsage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    // Every error the user can fix, from the CLI or a domain module, with the exit code it carries.
    if (error instanceof UserError) {
      writeLine(io.stderr, `doorbell ${name}: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      writeLine(io.stderr, `doorbell ${name}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
