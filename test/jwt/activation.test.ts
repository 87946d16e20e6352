// Imports of a private (`token_req`) service export in operator mode carry an activation token
// (nats-server 2.9.10's checkActivation / checkServiceImportAuthorized), tsnats vs nats-server:
// a token issued by the exporter (or by one of its signing keys) to the importer, covering the
// imported subject, not expired, bridges the import; without a token or with an expired one the
// import is not bridged; a token for another account, for another subject or from a stranger's
// key makes the importing account JWT itself invalid (nats-io/jwt's Import.Validate: its users are
// refused). An import bridged under a token that expires while the server runs ends when it expires.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeActivation } from '@nats-io/jwt';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createAccount, type KeyPair } from '@nats-io/nkeys';
import { SKIP_NATS_SERVER, sleep, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';
import { account, memoryConf, nowSec, operator, user, type Acc, type Op } from './fixtures.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

async function importer(op: Op, name: string, exporter: string, token: (kp: KeyPair) => Promise<string | undefined>): Promise<Acc> {
  const kp = createAccount();
  const t = await token(kp);
  const imp: Record<string, unknown> = { name: 'svc', subject: 'svc.>', account: exporter, type: 'service' };
  if (t !== undefined) imp.token = t;
  return account(op.kp, { imports: [imp] } as never, { name, kp });
}

describe('operator mode: activation tokens of private service exports', () => {
  for (const name of TARGETS) {
    it(`valid tokens bridge the import, others do not; expiry ends it [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 40000 }, async () => {
      const op = await operator();
      const akp = createAccount();
      const sk = createAccount();
      const a = await account(op.kp, { exports: [{ name: 'svc', subject: 'svc.>', type: 'service', token_req: true }], signing_keys: [sk.getPublicKey()] } as never, { kp: akp, name: 'A' });
      const act = (sub: KeyPair, data: Record<string, unknown> = {}, opts: Record<string, unknown> = {}) =>
        encodeActivation('svc', sub, akp, 'service', { subject: 'svc.>', ...data } as never, opts as never);
      const other = createAccount();
      const cases: Array<{ what: string; ok: boolean | 'refused'; acc: Acc }> = [
        { what: 'valid token', ok: true, acc: await importer(op, 'B', a.pub, (kp) => act(kp)) },
        { what: 'token of a signing key', ok: true, acc: await importer(op, 'C', a.pub, (kp) => encodeActivation('svc', kp, akp, 'service', { subject: 'svc.>' } as never, { signer: sk } as never)) },
        { what: 'no token', ok: false, acc: await importer(op, 'D', a.pub, async () => undefined) },
        { what: 'token for another account', ok: 'refused', acc: await importer(op, 'E', a.pub, () => act(other)) },
        { what: 'token for another subject', ok: 'refused', acc: await importer(op, 'F', a.pub, (kp) => act(kp, { subject: 'other.>' })) },
        { what: 'expired token', ok: false, acc: await importer(op, 'G', a.pub, (kp) => act(kp, {}, { exp: nowSec() - 10 })) },
        { what: "a stranger's token", ok: 'refused', acc: await importer(op, 'H', a.pub, (kp) => encodeActivation('svc', kp, createAccount(), 'service', { subject: 'svc.>' } as never)) },
      ];
      const expiring = await importer(op, 'X', a.pub, (kp) => act(kp, {}, { exp: nowSec() + 4 }));
      const conf = memoryConf(op, [a, expiring, ...cases.map((c) => c.acc)]);
      const srv: Running = name === 'tsnats' ? await startTsnats(`debug: true\n${conf}`) : await startNatsServer(`debug: true\n${conf}`);
      const conns: NatsConnection[] = [];
      const login = async (acc: Acc): Promise<NatsConnection> => {
        const nc = await connect({ port: srv.port, reconnect: false, authenticator: credsAuthenticator((await user(acc.kp)).creds) });
        conns.push(nc);
        return nc;
      };
      const works = async (nc: NatsConnection): Promise<boolean> =>
        nc.request('svc.echo', 'hi', { timeout: 800 }).then(
          (m) => m.string() === 'A:hi',
          () => false,
        );
      try {
        const ca = await login(a);
        ca.subscribe('svc.echo', { callback: (_e, m) => void m.respond(`A:${m.string()}`) });
        await ca.flush();
        const ex = await login(expiring);
        const got: Record<string, boolean | 'refused'> = {};
        for (const c of cases) {
          const nc = await login(c.acc).catch(() => undefined);
          got[c.what] = nc ? await works(nc) : 'refused';
        }
        assert.deepEqual(got, Object.fromEntries(cases.map((c) => [c.what, c.ok])));
        assert.equal(await works(ex), true, 'the expiring token works before it expires');
        const until = nowSec() + 8;
        let after = true;
        while (after && nowSec() < until) {
          await sleep(500);
          after = await works(ex);
        }
        assert.equal(after, false, 'the import ends when its activation expires');
      } finally {
        for (const c of conns) await c.close().catch(() => undefined);
        await srv.stop();
      }
    });
    it(`a private stream export: only the importer with a valid token gets the messages [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 20000 }, async () => {
      const op = await operator();
      const akp = createAccount();
      const a = await account(op.kp, { exports: [{ name: 'ev', subject: 'ev.>', type: 'stream', token_req: true }] } as never, { kp: akp, name: 'A' });
      const mk = async (nm: string, withToken: boolean): Promise<Acc> => {
        const kp = createAccount();
        const imp: Record<string, unknown> = { name: 'ev', subject: 'ev.>', account: a.pub, type: 'stream' };
        if (withToken) imp.token = await encodeActivation('ev', kp, akp, 'stream', { subject: 'ev.>' } as never);
        return account(op.kp, { imports: [imp] } as never, { name: nm, kp });
      };
      const b = await mk('B', true);
      const c = await mk('C', false);
      const conf = memoryConf(op, [a, b, c]);
      const srv: Running = name === 'tsnats' ? await startTsnats(conf) : await startNatsServer(conf);
      const conns: NatsConnection[] = [];
      try {
        const login = async (acc: Acc): Promise<NatsConnection> => {
          const nc = await connect({ port: srv.port, reconnect: false, authenticator: credsAuthenticator((await user(acc.kp)).creds) });
          conns.push(nc);
          return nc;
        };
        const ca = await login(a);
        const got: string[] = [];
        for (const [acc, tag] of [[b, 'B'], [c, 'C']] as const) {
          const nc = await login(acc);
          nc.subscribe('ev.>', { callback: (_e, m) => void got.push(`${tag}:${m.subject}`) });
          await nc.flush();
        }
        ca.publish('ev.1', 'x');
        await ca.flush();
        await sleep(500);
        assert.deepEqual(got, ['B:ev.1']);
      } finally {
        for (const x of conns) await x.close().catch(() => undefined);
        await srv.stop();
      }
    });
  }
});
