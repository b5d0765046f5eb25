#!/usr/bin/env node
import { processIo, writeLine } from './io.js';
import { runCli } from './run.js';

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    writeLine(process.stderr, `doorbell: internal error: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  },
);
