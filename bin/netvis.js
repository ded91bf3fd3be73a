#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A reader that stops early (`netvis robustness … | head`) closes stdout: the rest of the text is dropped and the
// command still finishes its work (the files it writes), instead of dying on an unhandled EPIPE.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = await main(process.argv.slice(2));
