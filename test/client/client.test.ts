// The official NATS client (@nats-io/transport-node) against tsnats: core messaging, headers,
// request/reply, drain, auth, permissions, TLS (INFO first, mTLS, handshake_first, verify_and_map)
// and reconnect after a restart.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, errors, headers, type NatsConnection } from '@nats-io/transport-node';
import { pki, tsnats, type TestServer } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function collect(iter: AsyncIterable<{ string(): string }>, n: number, timeoutMs = 2000): Promise<string[]> {
  const out: string[] = [];
  const done = (async () => {
    for await (const m of iter) {
      out.push(m.string());
      if (out.length >= n) break;
    }
  })();
  await Promise.race([done, sleep(timeoutMs)]);
  return out;
}

describe('official client: core messaging', () => {
  let srv: TestServer;
  let nc: NatsConnection;
  before(async () => {
    srv = await tsnats();
    nc = await connect({ servers: srv.url });
  });
  after(async () => {
    await nc.close();
    await srv.stop();
  });

  it('connects and reports the server info', () => {
    const info = nc.info!;
    assert.match(info.server_id, /^N[A-Z2-7]{55}$/);
    assert.equal(info.proto, 1);
    assert.equal(info.headers, true);
  });

  it('publishes and subscribes with wildcards', async () => {
    const star = nc.subscribe('a.*');
    const gt = nc.subscribe('a.>');
    const p1 = collect(star, 2);
    const p2 = collect(gt, 3);
    nc.publish('a.b', 'one');
    nc.publish('a.c', 'two');
    nc.publish('a.b.c', 'three');
    await nc.flush();
    assert.deepEqual(await p1, ['one', 'two']);
    assert.deepEqual(await p2, ['one', 'two', 'three']);
    star.unsubscribe();
    gt.unsubscribe();
  });

  it('queue groups deliver each message to one member', async () => {
    const nc2 = await connect({ servers: srv.url });
    let a = 0;
    let b = 0;
    nc.subscribe('jobs', { queue: 'w', callback: () => void a++ });
    nc2.subscribe('jobs', { queue: 'w', callback: () => void b++ });
    await nc.flush();
    await nc2.flush();
    for (let i = 0; i < 100; i++) nc.publish('jobs', String(i));
    await nc.flush();
    await nc2.flush();
    await sleep(50);
    assert.equal(a + b, 100);
    assert.ok(a > 0 && b > 0, `spread: ${a}/${b}`);
    await nc2.close();
  });

  it('request/reply', async () => {
    const svc = nc.subscribe('svc.echo', { callback: (_e, m) => void m.respond(`echo:${m.string()}`) });
    const r = await nc.request('svc.echo', 'hi', { timeout: 1000 });
    assert.equal(r.string(), 'echo:hi');
    svc.unsubscribe();
  });

  it('request without responders fails fast with no responders', async () => {
    const t0 = Date.now();
    await assert.rejects(nc.request('nobody.home', 'x', { timeout: 2000 }), (e: Error) => {
      const re = e as InstanceType<typeof errors.RequestError>;
      return (e instanceof errors.RequestError && re.isNoResponders()) || e instanceof errors.NoRespondersError;
    });
    assert.ok(Date.now() - t0 < 1500);
  });

  it('headers round-trip', async () => {
    const sub = nc.subscribe('h.x', { max: 1 });
    const got = (async () => {
      for await (const m of sub) return m;
      return undefined;
    })();
    const h = headers();
    h.set('X-Test', 'value');
    h.append('X-Multi', 'a');
    h.append('X-Multi', 'b');
    nc.publish('h.x', 'body', { headers: h });
    const m = await got;
    assert.ok(m);
    assert.equal(m.string(), 'body');
    assert.equal(m.headers?.get('X-Test'), 'value');
    assert.deepEqual(m.headers?.values('X-Multi'), ['a', 'b']);
  });

  it('unsubscribes after max messages', async () => {
    const sub = nc.subscribe('lim', { max: 3 });
    const p = collect(sub, 10, 500);
    for (let i = 0; i < 6; i++) nc.publish('lim', String(i));
    await nc.flush();
    assert.deepEqual(await p, ['0', '1', '2']);
    assert.equal(sub.isClosed(), true);
  });

  it('drain delivers pending messages and closes', async () => {
    const nc2 = await connect({ servers: srv.url });
    let n = 0;
    nc2.subscribe('drain.x', { callback: () => void n++ });
    await nc2.flush();
    for (let i = 0; i < 50; i++) nc.publish('drain.x');
    await nc.flush();
    await nc2.drain();
    assert.equal(n, 50);
    assert.equal(nc2.isClosed(), true);
  });

  it('noEcho suppresses own messages', async () => {
    const nc2 = await connect({ servers: srv.url, noEcho: true });
    let own = 0;
    nc2.subscribe('echo.x', { callback: () => void own++ });
    let other = 0;
    nc.subscribe('echo.x', { callback: () => void other++ });
    await nc.flush();
    await nc2.flush();
    nc2.publish('echo.x');
    await nc2.flush();
    await nc.flush();
    await sleep(30);
    assert.equal(own, 0);
    assert.equal(other, 1);
    await nc2.close();
  });
});

describe('official client: authentication and permissions', () => {
  it('token', async () => {
    const srv = await tsnats('authorization { token: t0k3n }');
    try {
      const nc = await connect({ servers: srv.url, token: 't0k3n' });
      await nc.flush();
      await nc.close();
      await assert.rejects(connect({ servers: srv.url, token: 'bad', reconnect: false }), (e: Error) => e instanceof errors.AuthorizationError || /authorization violation/i.test(e.message));
    } finally {
      await srv.stop();
    }
  });

  it('users with plain and bcrypt passwords', async () => {
    const hash = '$2b$04$VfGxfXDHNrpLQn3DYi8IR.zUFv3XY9fLETX2BmHpuPKuWXkX4a8e2'; // "pass"
    const srv = await tsnats(`authorization { users: [ {user: alice, password: secret}, {user: bob, password: "${hash}"} ] }`);
    try {
      for (const [user, pass] of [
        ['alice', 'secret'],
        ['bob', 'pass'],
      ]) {
        const nc = await connect({ servers: srv.url, user, pass });
        await nc.flush();
        await nc.close();
      }
      await assert.rejects(connect({ servers: srv.url, user: 'bob', pass: 'wrong', reconnect: false }), /authorization violation/i);
      assert.ok(srv.logs.some((l) => l.includes('[ERR]') && l.includes('authentication error - User "bob"')));
    } finally {
      await srv.stop();
    }
  });

  it('permission violations are surfaced to the client', async () => {
    const srv = await tsnats('authorization { users: [ {user: u, password: p, permissions: { publish: "ok.>", subscribe: "ok.>" } } ] }');
    try {
      const nc = await connect({ servers: srv.url, user: 'u', pass: 'p' });
      const statuses: string[] = [];
      (async () => {
        for await (const s of nc.status()) if (s.type === 'error') statuses.push(String((s as { error: Error }).error.message));
      })().catch(() => undefined);
      const sub = nc.subscribe('not.allowed');
      nc.publish('denied.subject', 'x');
      await nc.flush();
      const closed = await Promise.race([sub.closed, sleep(1000).then(() => 'timeout')]);
      assert.ok(closed instanceof errors.PermissionViolationError, `subscription closed with ${String(closed)}`);
      assert.equal((closed as InstanceType<typeof errors.PermissionViolationError>).operation, 'subscription');
      await sleep(50);
      assert.ok(statuses.some((s) => /Permissions Violation for Publish to "denied.subject"/i.test(s)), statuses.join('|'));
      // The connection stays usable.
      const ok = nc.subscribe('ok.x', { max: 1 });
      const p = collect(ok, 1);
      nc.publish('ok.x', 'fine');
      assert.deepEqual(await p, ['fine']);
      await nc.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('official client: TLS', () => {
  it('INFO first, then TLS (tls_required)', async () => {
    const p = await pki();
    const srv = await tsnats(`tls { cert_file: "${p.server.certFile}", key_file: "${p.server.keyFile}" }`);
    try {
      const nc = await connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile } });
      assert.equal(nc.info?.tls_required, true);
      const r = nc.subscribe('t', { max: 1 });
      const got = collect(r, 1);
      nc.publish('t', 'secure');
      assert.deepEqual(await got, ['secure']);
      const conns = [...srv.server.clients.values()];
      assert.equal(conns.length, 1);
      assert.match(conns[0]!.tlsVersion, /^1\.[23]$/);
      assert.ok(conns[0]!.tlsCipher.startsWith('TLS_'));
      await nc.close();
    } finally {
      await srv.stop();
    }
  });

  it('mTLS: verify requires a client certificate', async () => {
    const p = await pki();
    const srv = await tsnats(`tls { cert_file: "${p.server.certFile}", key_file: "${p.server.keyFile}", ca_file: "${p.caFile}", verify: true }`);
    try {
      const nc = await connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile, certFile: p.client.certFile, keyFile: p.client.keyFile } });
      assert.equal(nc.info?.tls_verify, true);
      await nc.flush();
      await nc.close();
      await assert.rejects(connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile }, reconnect: false, timeout: 2000 }));
      await sleep(50);
      assert.ok(srv.logs.some((l) => l.includes('TLS handshake error')), 'handshake failure logged');
      // The server keeps serving others.
      const nc2 = await connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile, certFile: p.client.certFile, keyFile: p.client.keyFile } });
      await nc2.close();
    } finally {
      await srv.stop();
    }
  });

  it('verify_and_map maps the certificate to a user', async () => {
    const p = await pki();
    const srv = await tsnats(
      `tls { cert_file: "${p.server.certFile}", key_file: "${p.server.keyFile}", ca_file: "${p.caFile}", verify_and_map: true }\n` +
        'authorization { users: [ { user: "client@example.com", permissions: { publish: "mapped.>" } } ] }',
    );
    try {
      const nc = await connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile, certFile: p.client.certFile, keyFile: p.client.keyFile } });
      await nc.flush();
      const c = [...srv.server.clients.values()][0]!;
      assert.equal(c.user, 'client@example.com');
      await nc.close();
    } finally {
      await srv.stop();
    }
  });

  it('handshake_first: TLS before INFO', async () => {
    const p = await pki();
    const srv = await tsnats(`tls { cert_file: "${p.server.certFile}", key_file: "${p.server.keyFile}", handshake_first: true }`);
    try {
      const nc = await connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile, handshakeFirst: true } });
      await nc.flush();
      assert.equal([...srv.server.clients.values()][0]!.tlsFirst, true);
      await nc.close();
    } finally {
      await srv.stop();
    }
  });

  it('handshake_first "auto": TLS-first and INFO-first clients both work', async () => {
    const p = await pki();
    const srv = await tsnats(`tls { cert_file: "${p.server.certFile}", key_file: "${p.server.keyFile}", handshake_first: auto }`);
    try {
      const a = await connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile, handshakeFirst: true } });
      const b = await connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile } });
      await a.flush();
      await b.flush();
      await a.close();
      await b.close();
    } finally {
      await srv.stop();
    }
  });

  it('allow_non_tls: plaintext and TLS clients on one port', async () => {
    const p = await pki();
    const srv = await tsnats(`allow_non_tls: true\ntls { cert_file: "${p.server.certFile}", key_file: "${p.server.keyFile}" }`);
    try {
      // nats.js upgrades whenever tls_available is offered unless `tls: null`.
      const plain = await connect({ servers: `127.0.0.1:${srv.port}`, tls: null });
      assert.equal(plain.info?.tls_available, true);
      const secure = await connect({ servers: `127.0.0.1:${srv.port}`, tls: { caFile: p.caFile } });
      const sub = secure.subscribe('mix', { max: 1 });
      const got = collect(sub, 1);
      await secure.flush();
      plain.publish('mix', 'across');
      assert.deepEqual(await got, ['across']);
      await plain.close();
      await secure.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('official client: reconnect', () => {
  it('reconnects after the server restarts on the same port', async () => {
    const first = await tsnats();
    const port = first.port;
    const nc = await connect({ servers: first.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const events: string[] = [];
    (async () => {
      for await (const s of nc.status()) events.push(s.type);
    })().catch(() => undefined);
    await first.stop();
    await sleep(200);
    const second = await tsnats('', { port });
    try {
      const deadline = Date.now() + 5000;
      while (!events.includes('reconnect') && Date.now() < deadline) await sleep(50);
      assert.ok(events.includes('reconnect'), events.join(','));
      const sub = nc.subscribe('again', { max: 1 });
      const got = collect(sub, 1);
      nc.publish('again', 'back');
      assert.deepEqual(await got, ['back']);
      await nc.close();
    } finally {
      await second.stop();
    }
  });
});
