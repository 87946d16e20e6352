// Connects per second with nkey authentication, tsnats vs nats-server 2.9.10, same client:
// `node dist/bench/nkey-connects.js [connections=2000] [concurrency=20] [password]`.
//
// Throughput on a shared machine is noisy; the server's CPU time per connection (from /proc) is
// the steadier figure. Each connection: TCP connect, read INFO, sign its nonce (node:crypto Ed25519, so the client
// costs little), CONNECT + PING, wait for PONG, close. Both servers get the same configuration
// (one nkey user among 100 nkey users and a password user) and run one after the other, each as
// its own process (run from the repository root, after the build). TSNATS_NODE_ARGS adds node
// flags for the tsnats process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).

import { natsServerBin } from '../test/wire/harness.js';
import { connectOnce, nkeySetup } from './lib/auth-connects.js';
import { measureConnects, startProc } from './lib/proc.js';

const total = Number(process.argv[2] ?? 2000);
const conc = Number(process.argv[3] ?? 20);
/** `password` as the third argument (after the counts): the password user instead (the baseline). */
const PASSWORD = process.argv[4] === 'password';
// One nkey user among 100 and a password user (`pw`/`x`), as the `nkey_connect` row of `npm run bench`.
const nkey = nkeySetup();
const setup = PASSWORD ? { conf: nkey.conf, connect: { user: 'pw', pass: 'x' } } : nkey;
const results: Record<string, { rate: number; cpuUs: number }> = {};
for (const [name, cmd] of [
  ['tsnats', [process.execPath, ...(process.env.TSNATS_NODE_ARGS ?? '').split(' ').filter(Boolean), 'bin/tsnats']],
  ['nats-server', [natsServerBin() ?? 'nats-server']],
] as const) {
  const srv = await startProc(cmd, setup.conf);
  try {
    results[name] = await measureConnects(srv, total, conc, (port) => connectOnce(port, setup));
  } finally {
    await srv.stop();
  }
  const r = results[name]!;
  console.log(`${name}: ${r.rate.toFixed(0)} ${PASSWORD ? 'password' : 'nkey'} connects/s, ${r.cpuUs.toFixed(0)} µs of server CPU per connection (${total} connections, ${conc} at a time)`);
}
const ts = results.tsnats!;
const ns = results['nats-server']!;
console.log(`tsnats/nats-server: throughput ${(ts.rate / ns.rate).toFixed(2)}x, CPU per connection ${(ts.cpuUs / ns.cpuUs).toFixed(2)}x`);
