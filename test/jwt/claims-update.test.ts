// Account JWT updates pushed through the system account (nats-server 2.9.10's accountClaimUpdate,
// for the MEMORY and URL resolvers), tsnats vs nats-server: a system account user sends a newer
// account JWT on `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE` (answered) or `$SYS.ACCOUNT.<acc>.CLAIMS.UPDATE`
// (the account server's announcement); the registered account takes it: users revoked by it are
// disconnected and cannot log in again, other users can. The answers (`data`/`error` with `account`,
// `code`, `message`/`description`) for a good update, the same JWT again, an empty body, a JWT of
// another account, a malformed JWT and an account the server has not registered. `$SYS.REQ.CLAIMS.UPDATE`
// is a directory resolver's subject: nobody answers it with these resolvers.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { SKIP_NATS_SERVER, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';
import { account, memoryConf, nowSec, operator, outcome, rawJwt, user, type Acc } from './fixtures.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

async function urlServer(accs: Acc[]): Promise<{ url: string; close(): Promise<void> }> {
  const m = new Map(accs.map((a) => [a.pub, a.jwt]));
  const srv = createServer((req, res) => {
    const key = (req.url ?? '').split('/').pop() ?? '';
    if (key === '') return void res.writeHead(200).end();
    const j = m.get(key);
    if (j === undefined) return void res.writeHead(404).end();
    res.writeHead(200).end(j);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/jwt/v1/accounts/`,
    close: () => new Promise<void>((r) => (srv.closeAllConnections(), srv.close(() => r()))),
  };
}

function start(name: TargetName, conf: string): Promise<Running> {
  return name === 'tsnats' ? startTsnats(`debug: true\n${conf}`) : startNatsServer(`debug: true\n${conf}`);
}

async function closedWith(nc: NatsConnection, ms: number): Promise<string> {
  const r = await Promise.race([nc.closed().then((e) => `closed: ${e ? String(e) : ''}`), new Promise<string>((res) => setTimeout(() => res('open'), ms))]);
  return r;
}

describe('account claim updates through the system account (tsnats vs nats-server)', () => {
  for (const resolver of ['MEMORY', 'URL'] as const) {
    for (const name of TARGETS) {
      it(`${resolver} resolver [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 40000 }, async () => {
        const sysKp = (await account((await operator()).kp)).kp; // a key for the system account
        const op = await operator({ system_account: sysKp.getPublicKey() });
        const sys = await account(op.kp, {}, { name: 'SYS', kp: sysKp });
        const a = await account(op.kp, {}, { name: 'A' });
        const b = await account(op.kp, {}, { name: 'B' });
        const sysUser = await user(sys.kp);
        const u1 = await user(a.kp);
        const u2 = await user(a.kp);
        const as = resolver === 'URL' ? await urlServer([sys, a, b]) : undefined;
        const conf = as ? `operator: "${op.jwt}"\nresolver: URL(${as.url})\n` : memoryConf(op, [sys, a, b]);
        const srv = await start(name, conf);
        const opts = { port: srv.port, reconnect: false };
        const ncs: NatsConnection[] = [];
        try {
          const sc = await connect({ ...opts, authenticator: credsAuthenticator(sysUser.creds) });
          const c1 = await connect({ ...opts, authenticator: credsAuthenticator(u1.creds) });
          const c2 = await connect({ ...opts, authenticator: credsAuthenticator(u2.creds) });
          ncs.push(sc, c1, c2);
          await c1.flush();
          const req = async (subject: string, body: string): Promise<Record<string, unknown>> => {
            const m = await sc.request(subject, body, { timeout: 3000 });
            return m.json<Record<string, unknown>>();
          };
          const upd = `$SYS.REQ.ACCOUNT.${a.pub}.CLAIMS.UPDATE`;
          // Errors first (the account keeps its claims).
          let r = await req(upd, '');
          assert.deepEqual(Object.keys(r), ['error', 'server']);
          assert.deepEqual(r.error, { account: a.pub, code: 500, description: 'jwt update error - request body is empty' });
          r = await req(upd, b.jwt);
          assert.deepEqual(r.error, { account: a.pub, code: 500, description: 'jwt update resulted in error - subject does not match jwt content' });
          r = await req(upd, 'not-a-jwt');
          assert.equal((r.error as Record<string, unknown>).code, 500);
          assert.match(String((r.error as Record<string, unknown>).description), /^jwt update resulted in error - /);
          // Hostile bodies: an error answer each, the server keeps serving.
          for (const body of ['{}', '\u0000\u00ff\r\n', 'a.b.c', 'eyJ0eXAiOiJKV1QifQ.eyJ9.x', `${a.jwt}x`, 'x'.repeat(100_000)]) {
            r = await req(upd, body);
            assert.equal((r.error as Record<string, unknown>).code, 500, `body ${JSON.stringify(body.slice(0, 30))}`);
          }
          // An account the server has not registered (no user of B logged in): skipped.
          r = await req(`$SYS.REQ.ACCOUNT.${b.pub}.CLAIMS.UPDATE`, b.jwt);
          assert.deepEqual(r.data, { account: b.pub, code: 200, message: 'jwt update skipped' });
          // The same JWT: nothing to do, answered as updated.
          r = await req(upd, a.jwt);
          assert.deepEqual(r.data, { account: a.pub, code: 200, message: 'jwt updated' });
          assert.equal(await closedWith(c1, 200), 'open');

          // A newer JWT revoking u1: u1 is disconnected and refused afterwards; u2 stays.
          const a2 = await account(op.kp, { revocations: { [u1.pub]: nowSec() + 5 } } as never, { name: 'A', kp: a.kp });
          r = await req(upd, a2.jwt);
          assert.deepEqual(Object.keys(r), ['data', 'server']);
          assert.deepEqual(r.data, { account: a.pub, code: 200, message: 'jwt updated' });
          assert.ok(typeof (r.server as Record<string, unknown>).id === 'string');
          assert.match(await closedWith(c1, 3000), /^closed: .*revoked/i);
          assert.equal(await closedWith(c2, 100), 'open');
          const again = await rawJwt(srv.port, u1);
          assert.match(await outcome(again), /^-ERR 'Authorization Violation'/);
          again.close();

          // The account server's announcement (no reply): revokes u2 as well.
          const a3 = await account(op.kp, { revocations: { [u1.pub]: nowSec() + 5, [u2.pub]: nowSec() + 5 } } as never, { name: 'A', kp: a.kp });
          sc.publish(`$SYS.ACCOUNT.${a.pub}.CLAIMS.UPDATE`, a3.jwt);
          assert.match(await closedWith(c2, 3000), /^closed: .*revoked/i);

          // A directory resolver's subject: no responders with MEMORY/URL.
          await assert.rejects(sc.request('$SYS.REQ.CLAIMS.UPDATE', a3.jwt, { timeout: 1000 }), /503|no responders/i);
        } finally {
          for (const nc of ncs) await nc.close().catch(() => undefined);
          await srv.stop();
          await as?.close();
        }
      });
    }
  }

  for (const name of TARGETS) {
    it(`a signing key removed by an update closes the users it issued [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 30000 }, async () => {
      const sysKp = (await account((await operator()).kp)).kp;
      const op = await operator({ system_account: sysKp.getPublicKey() });
      const sys = await account(op.kp, {}, { name: 'SYS', kp: sysKp });
      const akp = (await account(op.kp)).kp;
      const sk = (await account(op.kp)).kp;
      const a = await account(op.kp, { signing_keys: [sk.getPublicKey()] } as never, { name: 'A', kp: akp });
      const srv = await start(name, memoryConf(op, [sys, a]));
      const ncs: NatsConnection[] = [];
      try {
        const sc = await connect({ port: srv.port, reconnect: false, authenticator: credsAuthenticator((await user(sys.kp)).creds) });
        const bySk = await connect({ port: srv.port, reconnect: false, authenticator: credsAuthenticator((await user(akp, {}, { signer: sk })).creds) });
        const byAcc = await connect({ port: srv.port, reconnect: false, authenticator: credsAuthenticator((await user(akp)).creds) });
        ncs.push(sc, bySk, byAcc);
        const a2 = await account(op.kp, {}, { name: 'A', kp: akp });
        const r = (await sc.request(`$SYS.REQ.ACCOUNT.${a.pub}.CLAIMS.UPDATE`, a2.jwt, { timeout: 3000 })).json<Record<string, unknown>>();
        assert.deepEqual(r.data, { account: a.pub, code: 200, message: 'jwt updated' });
        assert.match(await closedWith(bySk, 3000), /^closed/);
        assert.equal(await closedWith(byAcc, 200), 'open');
      } finally {
        for (const nc of ncs) await nc.close().catch(() => undefined);
        await srv.stop();
      }
    });

    it(`an update of the exporting account re-applies imports [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 30000 }, async () => {
      const sysKp = (await account((await operator()).kp)).kp;
      const op = await operator({ system_account: sysKp.getPublicKey() });
      const sys = await account(op.kp, {}, { name: 'SYS', kp: sysKp });
      const withExport = { exports: [{ name: 'svc', subject: 'svc.>', type: 'service' }] };
      const a = await account(op.kp, withExport as never, { name: 'A' });
      const b = await account(op.kp, { imports: [{ name: 'svc', subject: 'svc.>', account: a.pub, type: 'service' }] } as never, { name: 'B' });
      const srv = await start(name, memoryConf(op, [sys, a, b]));
      const ncs: NatsConnection[] = [];
      try {
        const login = async (acc: Acc): Promise<NatsConnection> => {
          const nc = await connect({ port: srv.port, reconnect: false, authenticator: credsAuthenticator((await user(acc.kp)).creds) });
          ncs.push(nc);
          return nc;
        };
        const sc = await login(sys);
        const ca = await login(a);
        const cb = await login(b);
        ca.subscribe('svc.echo', { callback: (_e, m) => void m.respond(`A:${m.string()}`) });
        await ca.flush();
        const works = (): Promise<boolean> => cb.request('svc.echo', 'hi', { timeout: 800 }).then((m) => m.string() === 'A:hi', () => false);
        const update = async (jwt: string): Promise<unknown> => (await sc.request(`$SYS.REQ.ACCOUNT.${a.pub}.CLAIMS.UPDATE`, jwt, { timeout: 3000 })).json<Record<string, unknown>>().data;
        assert.equal(await works(), true);
        const none = await account(op.kp, {}, { name: 'A', kp: a.kp });
        assert.deepEqual(await update(none.jwt), { account: a.pub, code: 200, message: 'jwt updated' });
        assert.equal(await works(), false, 'the export is gone');
        const again = await account(op.kp, withExport as never, { name: 'A', kp: a.kp });
        assert.deepEqual(await update(again.jwt), { account: a.pub, code: 200, message: 'jwt updated' });
        assert.equal(await works(), true, 'the export is back');
      } finally {
        for (const nc of ncs) await nc.close().catch(() => undefined);
        await srv.stop();
      }
    });
  }
});
