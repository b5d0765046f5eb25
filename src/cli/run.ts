import { InvalidKeyError } from '../storage/keys.js';
import { type CliCommand, type CliIo, UsageError, writeLine } from './io.js';

type CommandModule = { command: CliCommand };

/** Every `doorbell` command, loaded only when used (start pulls in far more than `press` needs). */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
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
  keys: () => import('./commands/keys.js'),
  decrypt: () => import('./commands/decrypt.js'),
  audit: () => import('./commands/audit.js'),
};

async function loadCommand(name: string): Promise<CliCommand | undefined> {
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  return load ? (await load()).command : undefined;
}

async function printHelp(io: CliIo): Promise<void> {
  writeLine(io.stdout, 'Usage: doorbell <command> [options]\n\nCommands:');
  for (const name of Object.keys(COMMANDS)) {
    const command = await loadCommand(name);
    if (command) writeLine(io.stdout, `  ${name.padEnd(12)} ${command.summary}`);
  }
  writeLine(io.stdout, '\nRun `doorbell <command> --help` for its options.');
}

/** Runs one `doorbell …` invocation; user errors become one line on stderr and an exit code, never a stack. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
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
    if (error instanceof UsageError) {
      writeLine(io.stderr, `doorbell ${name}: ${error.message}`);
      return error.exitCode;
    }
    // A bucket key that could escape the bucket, from any command: bad input, not a crash.
    if (error instanceof InvalidKeyError) {
      writeLine(io.stderr, `doorbell ${name}: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      writeLine(io.stderr, `doorbell ${name}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
