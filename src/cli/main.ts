#!/usr/bin/env node
import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliCommand, type CliIo, processIo, UsageError, writeLine } from './io.js';

const commandsDir = `${dirname(fileURLToPath(import.meta.url))}/commands`;
const COMMAND_NAME = /^[a-z][a-z-]{0,31}$/;

async function loadCommand(name: string): Promise<CliCommand | undefined> {
  if (!COMMAND_NAME.test(name)) return undefined;
  try {
    const mod = (await import(`./commands/${name}.js`)) as { command?: CliCommand };
    return mod.command;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

async function listCommands(): Promise<Array<[string, CliCommand]>> {
  const files = await readdir(commandsDir);
  const names = [
    ...new Set(files.map((f) => f.replace(/\.(js|ts)$/, '')).filter((n) => !n.includes('.'))),
  ].sort();
  const out: Array<[string, CliCommand]> = [];
  for (const name of names) {
    const command = await loadCommand(name);
    if (command) out.push([name, command]);
  }
  return out;
}

async function printHelp(io: CliIo): Promise<void> {
  writeLine(io.stdout, 'Usage: doorbell <command> [options]\n\nCommands:');
  for (const [name, command] of await listCommands())
    writeLine(io.stdout, `  ${name.padEnd(12)} ${command.summary}`);
  writeLine(io.stdout, '\nRun `doorbell <command> --help` for its options.');
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
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
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      writeLine(io.stderr, `doorbell ${name}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

const invokedDirectly =
  process.argv[1] && fileURLToPath(import.meta.url) === (await realpathOf(process.argv[1]));
async function realpathOf(path: string): Promise<string> {
  const { realpath } = await import('node:fs/promises');
  return realpath(path).catch(() => path);
}
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      writeLine(process.stderr, `doorbell: internal error: ${(error as Error).stack ?? String(error)}`);
      process.exitCode = 1;
    },
  );
}
