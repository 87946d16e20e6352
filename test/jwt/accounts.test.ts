// Operator mode and accounts, tsnats vs nats-server 2.9.10: users of two accounts (resolved from
// their JWTs) are isolated from each other and share nothing but their own account; an account
// JWT that expires disconnects its users (Account Authentication Expired); connection types over
// websocket (a WEBSOCKET-only user logs in over websocket, is refused over TCP; a STANDARD-only
// user the other way round).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { credsAuthenticator as credsAuthenticatorCore, wsconnect } from '@nats-io/nats-core';
import { SKIP_NATS_SERVER, sleep, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';
import { start as startWs } from '../websocket/helpers.js';
import { account, memoryConf, nowSec, operator, outcome, rawJwt, user } from './fixtures.js';

(globalThis as unknown as { WebSocket: unknown }).WebSocket ??= WebSocket;

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

function start(name: TargetName, conf: string): Promise<Running> {
  return name === 'tsnats' ? startTsnats(`debug: true\n${conf}`) : startNatsServer(`debug: true\n${conf}`);
}

describe('operator mode accounts (tsnats vs nats-server)', () => {
  for (const name of TARGETS) {
    const skip = name === 'nats-server' ? SKIP_NATS_SERVER : false;

    it(`users of two accounts are isolated; users of one account share [${name}]`, { skip, timeout: 20000 }, async () => {
      const op = await operator();
      const a = await account(op.kp, {}, { name: 'A' });
      const b = await account(op.kp, {}, { name: 'B' });
      const [ua1, ua2, ub] = await Promise.all([user(a.kp), user(a.kp), user(b.kp)]);
      const srv = await start(name, memoryConf(op, [a, b]));
      const ncs: NatsConnection[] = [];
      try {
        for (const u of [ua1, ua2, ub]) ncs.push(await connect({ port: srv.port, authenticator: credsAuthenticator(u.creds), reconnect: false }));
        const [a1, a2, b1] = ncs as [NatsConnection, NatsConnection, NatsConnection];
        const seenA: string[] = [];
        const seenB: string[] = [];
        const sa = a2.subscribe('>', { callback: (_e, m) => void seenA.push(m.subject) });
        const sb = b1.subscribe('>', { callback: (_e, m) => void seenB.push(m.subject) });
        await a2.flush();
        await b1.flush();
        a1.publish('from.a');
        b1.publish('from.b');
        await a1.flush();
        await b1.flush();
        await sleep(200);
        assert.deepEqual(seenA, ['from.a']);
        assert.deepEqual(seenB, ['from.b']);
        // Request/reply inside account A; the same subject in B has no responder.
        a2.subscribe('svc', { callback: (_e, m) => void m.respond("ok") });
        await a2.flush();
        assert.equal((await a1.request('svc', '', { timeout: 2000 })).string(), 'ok');
        await assert.rejects(b1.request('svc', '', { timeout: 500 }));
        sa.unsubscribe();
        sb.unsubscribe();
      } finally {
        for (const nc of ncs) await nc.close().catch(() => undefined);
        await srv.stop();
      }
    });

    it(`an expiring account JWT disconnects its users: Account Authentication Expired [${name}]`, { skip, timeout: 20000 }, async () => {
      const op = await operator();
      const a = await account(op.kp, {}, { exp: nowSec() + 3 });
      const u = await user(a.kp);
      const srv = await start(name, memoryConf(op, [a]));
      try {
        const c = await rawJwt(srv.port, u);
        assert.match(await outcome(c), /PONG/);
        await c.waitText("-ERR 'Account Authentication Expired'", 6000);
        assert.ok(await c.waitClosed(3000));
        c.close();
      } finally {
        await srv.stop();
      }
    });

    it(`connection types over websocket: WEBSOCKET-only and STANDARD-only users [${name}]`, { skip, timeout: 20000 }, async () => {
      const op = await operator();
      const a = await account(op.kp);
      const wsOnly = await user(a.kp, { allowed_connection_types: ['WEBSOCKET'] });
      const stdOnly = await user(a.kp, { allowed_connection_types: ['STANDARD'] });
      const t = await startWs(name, `${memoryConf(op, [a])}\nwebsocket { listen: "127.0.0.1:-1", no_tls: true }`);
      try {
        const nc = await wsconnect({ servers: `ws://127.0.0.1:${t.wsPort}`, authenticator: credsAuthenticatorCore(wsOnly.creds), reconnect: false });
        await nc.flush();
        await nc.close();
        await assert.rejects(wsconnect({ servers: `ws://127.0.0.1:${t.wsPort}`, authenticator: credsAuthenticatorCore(stdOnly.creds), reconnect: false }));
        await assert.rejects(connect({ port: t.port, authenticator: credsAuthenticator(wsOnly.creds), reconnect: false }));
        const tcp = await connect({ port: t.port, authenticator: credsAuthenticator(stdOnly.creds), reconnect: false });
        await tcp.close();
      } finally {
        await t.stop();
      }
    });
  }
});

describe('operator mode and reload (tsnats)', () => {
  it('an unchanged reload keeps JWT users connected; a new preload serves the next logins; another operator is refused', { timeout: 20000 }, async () => {
    const { loadConfigFile } = await import('../../src/config/index.js');
    const { writeFileSync } = await import('node:fs');
    const op = await operator();
    const a = await account(op.kp);
    const b = await account(op.kp);
    const ua = await user(a.kp);
    const ub = await user(b.kp);
    const srv = await startTsnats(memoryConf(op, [a]));
    try {
      const c = await rawJwt(srv.port, ua);
      assert.match(await outcome(c), /PONG/);
      const reload = async (conf: string): Promise<void> => {
        writeFileSync(srv.confFile, `host: 127.0.0.1\nport: -1\n${conf}\n`);
        await srv.ts!.server.reload(loadConfigFile(srv.confFile).options);
      };
      await reload(memoryConf(op, [a]));
      await reload(memoryConf(op, [a, b]));
      const cb = await rawJwt(srv.port, ub);
      assert.match(await outcome(cb), /PONG/);
      cb.close();
      const other = await operator();
      await assert.rejects(reload(memoryConf(other, [a])), /config reload not supported for TrustedOperators/);
      c.send('PING\r\n');
      await c.roundTrip();
      assert.equal(c.closed, false, 'the JWT user stayed connected through the reloads');
      c.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('account JWT updates on reload (MEMORY resolver, tsnats vs nats-server)', () => {
  for (const name of TARGETS) {
    it(`a revocation added to a preloaded account disconnects the user (User Authentication Revoked); others stay [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 20000 }, async () => {
      const { readFileSync, writeFileSync } = await import('node:fs');
      const { loadConfigFile } = await import('../../src/config/index.js');
      const op = await operator();
      const akp = (await account(op.kp)).kp;
      const victim = await user(akp);
      const other = await user(akp);
      await sleep(1100);
      const a1 = await account(op.kp, {}, { kp: akp });
      const a2 = await account(op.kp, { revocations: { [victim.pub]: nowSec() } }, { kp: akp });
      const srv = await start(name, memoryConf(op, [a1]));
      try {
        const cv = await rawJwt(srv.port, victim);
        const co = await rawJwt(srv.port, other);
        assert.match(await outcome(cv), /PONG/);
        assert.match(await outcome(co), /PONG/);
        writeFileSync(srv.confFile, readFileSync(srv.confFile, 'utf8').replace(a1.jwt, a2.jwt));
        if (name === 'nats-server') process.kill(srv.pid!, 'SIGHUP');
        else await srv.ts!.server.reload(loadConfigFile(srv.confFile).options);
        await cv.waitText("-ERR 'User Authentication Revoked'", 5000);
        assert.ok(await cv.waitClosed(3000));
        await co.roundTrip();
        assert.equal(co.closed, false);
        await refusedLogin(srv.port, victim);
        cv.close();
        co.close();
      } finally {
        await srv.stop();
      }
    });
  }
});

async function refusedLogin(port: number, u: Parameters<typeof rawJwt>[1]): Promise<void> {
  const c = await rawJwt(port, u);
  assert.match(await outcome(c), /^-ERR 'Authorization Violation'/);
  c.close();
}

describe('/connz?auth=true for JWT users (tsnats vs nats-server)', () => {
  for (const name of TARGETS) {
    it(`authorized_user, account, jwt, issuer_key, name_tag, tags [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 20000 }, async () => {
      const { createAccount: newAccount } = await import('@nats-io/nkeys');
      const op = await operator();
      const sk = newAccount();
      const akp = newAccount();
      const a = await account(op.kp, { signing_keys: [sk.getPublicKey()] }, { kp: akp });
      const u = await user(akp, { tags: ['team:blue'] } as never, { signer: sk, name: 'alice' });
      const srv = await start(name, `http: "127.0.0.1:-1"\n${memoryConf(op, [a])}`);
      try {
        const c = await rawJwt(srv.port, u);
        assert.match(await outcome(c), /PONG/);
        const r = (await (await fetch(`${srv.monitor}/connz?auth=true`)).json()) as { connections: Record<string, unknown>[] };
        const conn = r.connections[0]!;
        const keys = Object.keys(conn).filter((k) => ['authorized_user', 'account', 'jwt', 'issuer_key', 'name_tag', 'tags'].includes(k));
        assert.deepEqual(keys, ['authorized_user', 'account', 'jwt', 'issuer_key', 'name_tag', 'tags']);
        assert.equal(conn.authorized_user, u.pub);
        assert.equal(conn.account, a.pub);
        assert.equal(conn.jwt, u.jwt);
        assert.equal(conn.issuer_key, sk.getPublicKey());
        assert.equal(conn.name_tag, 'alice');
        assert.deepEqual(conn.tags, ['team:blue']);
        c.close();
      } finally {
        await srv.stop();
      }
    });
  }
});

describe('websocket jwt_cookie (tsnats vs nats-server)', () => {
  for (const name of TARGETS) {
    it(`the JWT from the upgrade request's cookie logs in a CONNECT without one [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 20000 }, async () => {
      const { upgraded, frame, text } = await import('../websocket/helpers.js');
      const op = await operator();
      const a = await account(op.kp);
      const u = await user(a.kp);
      const t = await startWs(name, `${memoryConf(op, [a])}\nwebsocket { listen: "127.0.0.1:-1", no_tls: true, jwt_cookie: "natsjwt" }`);
      try {
        const login = async (cookie: string | undefined): Promise<string> => {
          const p = await upgraded(t.wsPort, cookie ? { Cookie: cookie } : {});
          const first = await p.framesUntil((f) => text(f).includes('\r\n'));
          const info = JSON.parse(text(first).slice(5).trim()) as { nonce: string };
          const sig = Buffer.from(u.kp.sign(new TextEncoder().encode(info.nonce))).toString('base64url');
          p.write(frame(1, `CONNECT {"verbose":false,"pedantic":false,"sig":"${sig}"}\r\nPING\r\n`, { mask: true }));
          const out = text(await p.framesUntil((f) => /PONG|-ERR/.test(text(f))));
          p.close();
          return out;
        };
        assert.match(await login(`other=1; natsjwt=${u.jwt}`), /PONG/);
        assert.match(await login(undefined), /-ERR 'Authorization Violation'/);
      } finally {
        await t.stop();
      }
    });
  }
});
