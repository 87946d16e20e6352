// A child process that writes the OCSP cache file as fast as it can, to be killed with SIGKILL at
// a random moment by test/faults/sigkill.test.ts and test/load/long.ts.
//
//   node dist/test/faults/cache-writer.js store <storeDir> <sha256hex> <fileA> <fileB>
//       StapleStore.write of response A, then B, then A, ... (the store's atomic write path alone)
//   node dist/test/faults/cache-writer.js stapler <storeDir> <certFile> <caFile> <url>
//       a stapler (mode must, with the store) refreshing from the responder in a loop: fetch,
//       strict verification, then the write (the whole engine path)
//
// Prints `ready` once the first write has completed, then keeps going (bounded: 20 s).

import { readFileSync } from 'node:fs';
import { StapleStore } from '../../src/ocsp/store.js';

const [mode, storeDir, a, b, c] = process.argv.slice(2);
const deadline = Date.now() + 20_000;

async function storeLoop(): Promise<void> {
  const store = new StapleStore(storeDir!);
  await store.init();
  const bodies = [readFileSync(b!), readFileSync(c!)];
  let i = 0;
  while (Date.now() < deadline) {
    await store.write(a!, bodies[i++ & 1]!);
    if (i === 1) process.stdout.write('ready\n');
  }
}

async function staplerLoop(): Promise<void> {
  const { createStapler } = await import('../../src/ocsp/stapler.js');
  const stapler = await createStapler({
    cert: readFileSync(a!, 'utf8'),
    ca: readFileSync(b!, 'utf8'),
    mode: 'must',
    urls: [c!],
    storeDir,
    memory: false,
    fetchTimeoutMs: 2000,
  });
  process.stdout.write('ready\n');
  while (Date.now() < deadline) await stapler.refresh();
  stapler.close();
}

(mode === 'store' ? storeLoop() : staplerLoop()).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`cache-writer: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  },
);
