// Operator mode logins, the same scenario against tsnats and nats-server 2.9.10: official
// client logins with a .creds file and with jwtAuthenticator, and the refusals (wrong signature,
// expired, not yet valid, unknown issuer, untrusted operator, revoked, malformed, missing JWT),
// bearer tokens, connection types, source networks, time windows, the expiry disconnect, the
// account connection limit, and the permissions and limits a user JWT carries.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { SKIP_NATS_SERVER, sleep, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';
import { account, memoryConf, nowSec, operator, outcome, rawJwt, user } from './fixtures.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];
const AUTHZ = "-ERR 'Authorization Violation'";

function start(name: TargetName, conf: string): Promise<Running> {
  const c = `debug: true\n${conf}`;
  return name === 'tsnats' ? startTsnats(c) : startNatsServer(c);
}

function scenario(title: string, body: (name: TargetName) => Promise<void>, timeout = 20000): void {
  for (const name of TARGETS) {
    it(`${title} [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout }, () => body(name));
  }
}

async function withServer(name: TargetName, conf: string, fn: (srv: Running) => Promise<void>): Promise<void> {
  const srv = await start(name, conf);
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

async function accepted(port: number, u: Parameters<typeof rawJwt>[1], opts?: Parameters<typeof rawJwt>[2]): Promise<void> {
  const c = await rawJwt(port, u, opts);
  try {
    const out = await outcome(c);
    assert.match(out, /PONG\r\n/, `expected a login, got ${JSON.stringify(out)}`);
  } finally {
    c.close();
  }
}

async function refused(port: number, u: Parameters<typeof rawJwt>[1], opts?: Parameters<typeof rawJwt>[2], err = AUTHZ): Promise<void> {
  const c = await rawJwt(port, u, opts);
  try {
    const out = await outcome(c);
    assert.ok(out.startsWith(err), `expected ${err}, got ${JSON.stringify(out)}`);
    assert.ok(await c.waitClosed(3000), 'connection closed');
  } finally {
    c.close();
  }
}

async function roundTrip(nc: NatsConnection, subject = 'jwt.test'): Promise<void> {
  const sub = nc.subscribe(subject, { max: 1 });
  nc.publish(subject, 'hi');
  for await (const m of sub) assert.equal(m.string(), 'hi');
}

describe('operator mode: JWT logins (tsnats vs nats-server)', () => {
  scenario('a .creds file through credsAuthenticator logs in, pub/sub works', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const u = await user(a.kp);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      const nc = await connect({ port: srv.port, authenticator: credsAuthenticator(u.creds), reconnect: false });
      try {
        await roundTrip(nc);
        assert.ok(nc.info?.nonce, 'INFO carries a nonce in operator mode');
        assert.equal(nc.info?.auth_required, true);
      } finally {
        await nc.close();
      }
    });
  });

  scenario('jwtAuthenticator (JWT + seed) logs in', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const u = await user(a.kp);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      const nc = await connect({ port: srv.port, authenticator: jwtAuthenticator(u.jwt, u.kp.getSeed()), reconnect: false });
      await roundTrip(nc);
      await nc.close();
    });
  });

  scenario('refusals: wrong signature, missing signature, no JWT, malformed JWT, tampered JWT', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const u = await user(a.kp);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      await refused(srv.port, { jwt: u.jwt, kp: createUser() });
      await refused(srv.port, { jwt: u.jwt }, { sig: false });
      await refused(srv.port, { jwt: u.jwt }, { sig: '!!!notbase64' });
      await refused(srv.port, { jwt: '', kp: u.kp });
      await refused(srv.port, { jwt: 'eyJhbGciOiJub25lIn0.e30.', kp: u.kp });
      await refused(srv.port, { jwt: 'not a jwt', kp: u.kp });
      const [h, p, s] = u.jwt.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { nats: Record<string, unknown> };
      claims.nats.pub = { allow: ['>'] };
      await refused(srv.port, { jwt: `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`, kp: u.kp });
      await accepted(srv.port, u);
      assert.match(srv.log(), /authentication error/);
    });
  });

  scenario('a replayed signature (of another connection\'s nonce) is refused', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const u = await user(a.kp);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      const { Conn } = await import('../wire/harness.js');
      const first = await Conn.open(srv.port);
      const info = await first.info();
      const sig = Buffer.from(u.kp.sign(new TextEncoder().encode(String(info.nonce)))).toString('base64url');
      first.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, jwt: u.jwt, sig })}\r\nPING\r\n`);
      assert.match(await outcome(first), /PONG/);
      await refused(srv.port, { jwt: u.jwt }, { sig });
      first.close();
    });
  });

  scenario('refusals: expired, not yet valid, unknown account, untrusted operator, expired account', async (name) => {
    const op = await operator();
    const other = createOperator();
    const a = await account(op.kp);
    const untrusted = await account(other);
    const expiredAcc = await account(op.kp, {}, { exp: nowSec() + 2 });
    const expired = await user(a.kp, {}, { exp: nowSec() - 10 });
    const future = await user(a.kp, {}, { nbf: nowSec() + 3600 });
    const unknown = await user(createAccount());
    const ofUntrusted = await user(untrusted.kp);
    const ofExpiredAcc = await user(expiredAcc.kp);
    await withServer(name, memoryConf(op, [a, untrusted, expiredAcc]), async (srv) => {
      await refused(srv.port, expired);
      await refused(srv.port, future);
      await refused(srv.port, unknown);
      await refused(srv.port, ofUntrusted);
      await sleep(3100);
      await refused(srv.port, ofExpiredAcc);
    });
  });

  scenario('revoked user (account revocations) refused; other users of the account log in', async (name) => {
    const op = await operator();
    const akp = createAccount();
    const revoked = await user(akp);
    const fine = await user(akp);
    await sleep(1100); // revocation at a later second than the JWT's iat
    const a = await account(op.kp, { revocations: { [revoked.pub]: nowSec() } }, { kp: akp });
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      await refused(srv.port, revoked);
      await accepted(srv.port, fine);
    });
  });

  scenario('signing keys: a user issued by an account signing key logs in; an unlisted key is refused', async (name) => {
    const op = await operator();
    const sk = createAccount();
    const akp = createAccount();
    const a = await account(op.kp, { signing_keys: [sk.getPublicKey()] }, { kp: akp });
    const bySk = await user(akp, {}, { signer: sk });
    const byStranger = await user(akp, {}, { signer: createAccount() });
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      await accepted(srv.port, bySk);
      await refused(srv.port, byStranger);
    });
  });

  scenario('operator signing key: an account signed by it is trusted', async (name) => {
    const opSk = createOperator();
    const op = await operator({}, [opSk]);
    const a = await account(opSk);
    const u = await user(a.kp);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      await accepted(srv.port, u);
    });
  });

  scenario('scoped signing key: the template permissions apply ({{name()}})', async (name) => {
    const op = await operator();
    const sk = createAccount();
    const akp = createAccount();
    const scope = {
      kind: 'user_scope',
      key: sk.getPublicKey(),
      role: 'r',
      template: { pub: { allow: ['scoped.{{name()}}'], deny: [] }, sub: { allow: ['_INBOX.>', 'scoped.>'], deny: [] }, subs: -1, data: -1, payload: -1 },
    };
    const a = await account(op.kp, { signing_keys: [scope as never] }, { kp: akp });
    const u = await user(akp, {}, { signer: sk, scoped: true, name: 'bob' });
    const withPerms = await user(akp, { pub: { allow: ['x'] } }, { signer: sk, name: 'eve' });
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      await refused(srv.port, withPerms);
      const c = await rawJwt(srv.port, u);
      try {
        await outcome(c);
        c.send('SUB scoped.> 1\r\nPUB scoped.bob 2\r\nhi\r\nPUB scoped.eve 2\r\nno\r\nPING\r\n');
        await c.waitFor((t) => t.includes('Permissions Violation') && /PONG\r\n[\s\S]*PONG\r\n/.test(t));
        assert.match(c.afterInfo, /MSG scoped\.bob 1 2\r\nhi\r\n/);
        assert.match(c.afterInfo, /-ERR 'Permissions Violation for Publish to "scoped\.eve"'/);
      } finally {
        c.close();
      }
    });
  });

  scenario('bearer token: no signature needed; refused when the account disallows bearer tokens', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const strict = await account(op.kp, { limits: { disallow_bearer: true } });
    const b = await user(a.kp, { bearer_token: true });
    const b2 = await user(strict.kp, { bearer_token: true });
    await withServer(name, memoryConf(op, [a, strict]), async (srv) => {
      await accepted(srv.port, { jwt: b.jwt }, { sig: false });
      await refused(srv.port, { jwt: b2.jwt }, { sig: false });
      const nc = await connect({ port: srv.port, authenticator: jwtAuthenticator(b.jwt), reconnect: false });
      await roundTrip(nc);
      await nc.close();
    });
  });

  scenario('allowed connection types: STANDARD logs in, WEBSOCKET-only and unknown-only refused', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const std = await user(a.kp, { allowed_connection_types: ['STANDARD'] });
    const ws = await user(a.kp, { allowed_connection_types: ['WEBSOCKET'] });
    const odd = await user(a.kp, { allowed_connection_types: ['CARRIER_PIGEON' as never] });
    const mixed = await user(a.kp, { allowed_connection_types: ['CARRIER_PIGEON' as never, 'STANDARD'] });
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      await accepted(srv.port, std);
      await refused(srv.port, ws);
      await refused(srv.port, odd);
      await accepted(srv.port, mixed);
    });
  });

  scenario('source networks: 127.0.0.0/8 logs in, 10.0.0.0/8 refused (logged as Bad src Ip)', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const ok = await user(a.kp, { src: ['10.0.0.0/8', '127.0.0.0/8'] });
    const bad = await user(a.kp, { src: ['10.0.0.0/8'] });
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      await accepted(srv.port, ok);
      await refused(srv.port, bad);
      assert.match(srv.log(), /Bad src Ip 127\.0\.0\.1/);
    });
  });

  scenario('time windows: inside logs in, outside refused (Outside connect times)', async (name) => {
    const hh = (h: number): string => `${String(((h % 24) + 24) % 24).padStart(2, '0')}:00:00`;
    const h = new Date().getUTCHours();
    const op = await operator();
    const a = await account(op.kp);
    const outside = await user(a.kp, { times: [{ start: hh(h + 2), end: hh(h + 3) }], locale: 'UTC' } as never);
    const inside = await user(a.kp, { times: [{ start: '00:00:00', end: '23:59:59' }], locale: 'UTC' } as never);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      await refused(srv.port, outside);
      assert.match(srv.log(), /Outside connect times/);
      if (new Date().getUTCHours() !== 23 || new Date().getUTCMinutes() < 59) await accepted(srv.port, inside);
    });
  });

  scenario('expiry: the client is told (User Authentication Expired) and disconnected', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const u = await user(a.kp, {}, { exp: nowSec() + 2 });
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      const c = await rawJwt(srv.port, u);
      try {
        assert.match(await outcome(c), /PONG/);
        await c.waitText("-ERR 'User Authentication Expired'", 5000);
        assert.ok(await c.waitClosed(3000));
      } finally {
        c.close();
      }
    });
  });

  scenario('account connection limit: the second connection gets maximum account active connections exceeded', async (name) => {
    const op = await operator();
    const a = await account(op.kp, { limits: { conn: 1 } });
    const u = await user(a.kp);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      const first = await rawJwt(srv.port, u);
      try {
        assert.match(await outcome(first), /PONG/);
        await refused(srv.port, u, undefined, "-ERR 'maximum account active connections exceeded'");
        first.close();
        await sleep(300);
        await accepted(srv.port, u);
      } finally {
        first.close();
      }
    });
  });

  scenario('an account JWT without limits (Go reads them as 0): no connection is allowed', async (name) => {
    const op = await operator();
    const akp = createAccount();
    const { encodeAccount } = await import('@nats-io/jwt');
    const bare = { kp: akp, pub: akp.getPublicKey(), jwt: await encodeAccount('bare', akp, {}, { signer: op.kp }) };
    const u = await user(akp);
    await withServer(name, memoryConf(op, [bare]), async (srv) => {
      await refused(srv.port, u, undefined, "-ERR 'maximum account active connections exceeded'");
    });
  });

  scenario('user JWT permissions and limits: publish deny, subscribe allow, max subs, max payload', async (name) => {
    const op = await operator();
    const a = await account(op.kp);
    const u = await user(a.kp, { pub: { deny: ['secret.>'] }, sub: { allow: ['ok.>'] }, subs: 2, payload: 16 } as never);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      const c = await rawJwt(srv.port, u);
      try {
        assert.match(await outcome(c), /PONG/);
        c.send('SUB nope 1\r\nSUB ok.a 2\r\nSUB ok.b 3\r\nSUB ok.c 4\r\nPUB secret.x 1\r\nx\r\nPING\r\n');
        await c.waitFor((t) => (t.match(/PONG/g) ?? []).length >= 2);
        const t = c.afterInfo;
        assert.match(t, /-ERR 'Permissions Violation for Subscription to "nope"'/);
        assert.match(t, /-ERR 'maximum subscriptions exceeded'/);
        assert.match(t, /-ERR 'Permissions Violation for Publish to "secret\.x"'/);
        c.send(`PUB ok.a 20\r\n${'x'.repeat(20)}\r\n`);
        await c.waitText("-ERR 'Maximum Payload Violation'");
        assert.ok(await c.waitClosed(3000));
      } finally {
        c.close();
      }
    });
  });

  scenario('account default permissions apply to users without their own', async (name) => {
    const op = await operator();
    const a = await account(op.kp, { default_permissions: { pub: { allow: ['only.this'] } } } as never);
    const u = await user(a.kp);
    await withServer(name, memoryConf(op, [a]), async (srv) => {
      const c = await rawJwt(srv.port, u);
      try {
        assert.match(await outcome(c), /PONG/);
        c.send('PUB other 1\r\nx\r\nPING\r\n');
        await c.waitText("-ERR 'Permissions Violation for Publish to \"other\"'");
      } finally {
        c.close();
      }
    });
  });
});
