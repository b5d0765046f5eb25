#!/usr/bin/env node
import { processIo, writeLine } from './io.js';
import { runCli } from './run.js';

// `doorbell help | head` closes the pipe early: that is the reader being done, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    writeLine(process.stderr, `doorbell: internal error: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  },
);
