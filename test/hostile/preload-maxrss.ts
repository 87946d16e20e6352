// Preloaded (`node --import`) into a tsnats child process: writes the process's peak resident set
// size to stderr when it exits, so a test can bound the memory of a process that exits on its own
// (e.g. refuses to start): `tsnats-maxrss-kb=<n>`.

import { writeSync } from 'node:fs';

process.on('exit', () => {
  try {
    writeSync(2, `\ntsnats-maxrss-kb=${process.resourceUsage().maxRSS}\n`);
  } catch {
    // stderr closed
  }
});
