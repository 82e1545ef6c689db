#!/usr/bin/env node
import { createIo } from './process-io.js';
import { main } from './main.js';

// The `ironsock` executable: real streams and signals around `main` (STYLE.md §12).
const { io, dispose } = createIo();
main(process.argv.slice(2), io).then(
  (code) => {
    dispose();
    process.exitCode = code;
  },
  (error: unknown) => {
    dispose();
    process.stderr.write(`ironsock: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
