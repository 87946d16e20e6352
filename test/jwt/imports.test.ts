// Imports and exports between accounts in operator mode: the exports and imports of account JWTs
// (MEMORY resolver with both accounts preloaded), used by .creds logins through the official
// client; same scenario on tsnats and nats-server 2.9.10.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createAccount } from '@nats-io/nkeys';
import { SKIP_NATS_SERVER, sleep, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';
import { account, memoryConf, operator, user } from './fixtures.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

describe('operator mode: imports and exports from account JWTs', () => {
  for (const name of TARGETS) for (const bFirst of [false, true]) {
    it(`a service and a stream exported by A are used by B${bFirst ? ' (B logs in before A)' : ''} [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 20000 }, async () => {
      const op = await operator();
      const akp = createAccount();
      const a = await account(op.kp, { exports: [{ name: 'svc', subject: 'svc.>', type: 'service' }, { name: 'ev', subject: 'ev.>', type: 'stream' }] } as never, { kp: akp, name: 'A' });
      const b = await account(
        op.kp,
        {
          imports: [
            { name: 'svc', subject: 'svc.>', account: a.pub, type: 'service' },
            { name: 'ev', subject: 'ev.>', account: a.pub, type: 'stream', local_subject: 'from.a.ev.>' },
          ],
        } as never,
        { name: 'B' },
      );
      const ua = await user(a.kp);
      const ub = await user(b.kp);
      const conf = memoryConf(op, [a, b]);
      const srv: Running = name === 'tsnats' ? await startTsnats(conf) : await startNatsServer(conf);
      const conns: NatsConnection[] = [];
      try {
        const login = (u: typeof ua) => connect({ port: srv.port, reconnect: false, authenticator: credsAuthenticator(u.creds) });
        const early = bFirst ? await login(ub) : undefined;
        const ca = await login(ua);
        conns.push(ca);
        ca.subscribe('svc.echo', { callback: (_e, m) => void m.respond(`A:${m.string()}`) });
        await ca.flush();
        const cb = early ?? (await login(ub));
        conns.push(cb);
        assert.equal((await cb.request('svc.echo', 'hi', { timeout: 2000 })).string(), 'A:hi');
        const got: string[] = [];
        cb.subscribe('from.a.ev.>', { callback: (_e, m) => void got.push(`${m.subject}:${m.string()}`) });
        // A plain subscriber in B on the exporter's subject gets nothing (no leak without the import's mapping).
        cb.subscribe('ev.>', { callback: (_e, m) => void got.push(`LEAK ${m.subject}`) });
        await cb.flush();
        ca.publish('ev.1', 'x');
        await ca.flush();
        const end = Date.now() + 2000;
        while (got.length === 0 && Date.now() < end) await sleep(20);
        await sleep(100);
        assert.deepEqual(got, ['from.a.ev.1:x']);
      } finally {
        for (const c of conns) await c.close().catch(() => undefined);
        await srv.stop();
      }
    });
  }
});
