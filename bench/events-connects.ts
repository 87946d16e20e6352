// What the system account's events cost on the connect path: server CPU per connection (from
// /proc; the steadier figure on a shared machine) and connects per second, for tsnats without a
// system account user (no events code loaded), with one (events on, nobody subscribed), and with
// a `$SYS.>` subscriber receiving the 8 events of every connect/close, and nats-server 2.9.10 with
// the same two configurations. `node dist/bench/events-connects.js [connections=3000] [concurrency=8] [rounds=2]`
// (from the repository root, after the build). Each connection: TCP connect, INFO, CONNECT as a
// password user of account A + PING, PONG, close.

import { connect as natsConnect } from '@nats-io/transport-node';
import { natsServerBin } from '../test/wire/harness.js';
import { connectOnce } from './lib/auth-connects.js';
import { measureConnects, startProc } from './lib/proc.js';

const USER_A = { conf: '', connect: { user: 'a', pass: 'a' } };

const total = Number(process.argv[2] ?? 3000);
const conc = Number(process.argv[3] ?? 8);
const rounds = Number(process.argv[4] ?? 2);
const NO_SYS = 'accounts { A { users: [{user: a, password: a}] } }';
const SYS = 'accounts { SYS { users: [{user: sys, password: x}] }, A { users: [{user: a, password: a}] } }\nsystem_account: SYS';
const rows: Array<[string, string[], string, boolean]> = [
  ['tsnats, no system account user', [process.execPath, 'bin/tsnats'], NO_SYS, false],
  ['tsnats, events on, no subscriber', [process.execPath, 'bin/tsnats'], SYS, false],
  ['tsnats, $SYS.> subscriber', [process.execPath, 'bin/tsnats'], SYS, true],
  ['nats-server, events on, no subscriber', [natsServerBin() ?? 'nats-server'], SYS, false],
  ['nats-server, $SYS.> subscriber', [natsServerBin() ?? 'nats-server'], SYS, true],
];
for (let r = 0; r < rounds; r++) {
  for (const [name, cmd, conf, watch] of rows) {
    const srv = await startProc(cmd, conf);
    let seen = 0;
    const nc = watch ? await natsConnect({ port: srv.port, user: 'sys', pass: 'x' }) : undefined;
    if (nc) {
      const sub = nc.subscribe('$SYS.>');
      void (async () => {
        for await (const _ of sub) seen++;
      })();
      await nc.flush();
    }
    try {
      const x = await measureConnects(srv, total, conc, (port) => connectOnce(port, USER_A));
      await new Promise((res) => setTimeout(res, 200));
      console.log(`${name}: ${x.rate.toFixed(0)} connects/s, ${x.cpuUs.toFixed(0)} µs server CPU per connection${watch ? `, ${seen} events received` : ''}`);
    } finally {
      await nc?.close();
      await srv.stop();
    }
  }
}
