// Accounts from the configuration (`accounts {}`), each scenario against tsnats and the real
// nats-server 2.9.10 with the same file and the official client: subjects, queue groups and
// request/reply never cross accounts; users of the authorization block are in `$G`; `no_auth_user`
// may name an account's user; nkey users in accounts; account connection and subscription limits;
// allowed connection types; a reload that moves a user to another account closes its connection.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { loadConfigFile } from '../../src/config/index.js';
import { SKIP_NATS_SERVER, sleep, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

function start(name: TargetName, conf: string): Promise<Running> {
  return name === 'tsnats' ? startTsnats(conf) : startNatsServer(conf);
}

function scenario(title: string, conf: string, body: (srv: Running) => Promise<void>, timeout = 20000): void {
  for (const name of TARGETS) {
    it(`${title} [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout }, async () => {
      const srv = await start(name, conf);
      try {
        await body(srv);
      } finally {
        await srv.stop();
      }
    });
  }
}

function as(port: number, user: string, pass = 'p', extra: Record<string, unknown> = {}): Promise<NatsConnection> {
  return connect({ port, user, pass, reconnect: false, ...extra });
}

/** Collects what `sub` receives for `ms`. */
async function collect(nc: NatsConnection, subject: string, ms: number, queue?: string): Promise<string[]> {
  const got: string[] = [];
  const sub = nc.subscribe(subject, queue ? { queue } : {});
  (async () => {
    for await (const m of sub) got.push(`${m.subject}:${m.string()}`);
  })().catch(() => undefined);
  await nc.flush();
  return new Promise((r) => setTimeout(() => r(got), ms));
}

const TWO = `
accounts {
  A { users: [ {user: a1, password: p}, {user: a2, password: p} ] }
  B { users: [ {user: b1, password: p} ] }
}
authorization { users: [ {user: g1, password: p} ] }
`;

describe('accounts: isolation', () => {
  scenario('a message published in one account reaches only that account', TWO, async (srv) => {
    const a1 = await as(srv.port, 'a1');
    const a2 = await as(srv.port, 'a2');
    const b1 = await as(srv.port, 'b1');
    const g1 = await as(srv.port, 'g1');
    try {
      const ga2 = collect(a2, '>', 400);
      const gb1 = collect(b1, '>', 400);
      const gg1 = collect(g1, '>', 400);
      await sleep(50);
      a1.publish('orders.new', 'from-a');
      b1.publish('orders.new', 'from-b');
      g1.publish('orders.new', 'from-g');
      await Promise.all([a1.flush(), b1.flush(), g1.flush()]);
      assert.deepEqual(await ga2, ['orders.new:from-a']);
      assert.deepEqual(await gb1, ['orders.new:from-b']);
      assert.deepEqual(await gg1, ['orders.new:from-g']);
    } finally {
      await Promise.all([a1.close(), a2.close(), b1.close(), g1.close()]);
    }
  });

  scenario('request/reply and no-responders stay in the account', TWO, async (srv) => {
    const a1 = await as(srv.port, 'a1');
    const a2 = await as(srv.port, 'a2');
    const b1 = await as(srv.port, 'b1');
    try {
      a2.subscribe('svc', { callback: (_e, m) => void m.respond('a-answer') });
      await a2.flush();
      const r = await a1.request('svc', 'q', { timeout: 2000 });
      assert.equal(r.string(), 'a-answer');
      // B has no responder on `svc`: the request fails fast with no responders, not A's answer.
      await assert.rejects(b1.request('svc', 'q', { timeout: 2000 }), (e: Error) => /503|no responders/i.test(String(e.message) + String((e as { code?: string }).code)));
    } finally {
      await Promise.all([a1.close(), a2.close(), b1.close()]);
    }
  });

  scenario('queue groups of the same name in two accounts are separate groups', TWO, async (srv) => {
    const a1 = await as(srv.port, 'a1');
    const a2 = await as(srv.port, 'a2');
    const b1 = await as(srv.port, 'b1');
    try {
      const qa = collect(a2, 'work', 400, 'q');
      const qb = collect(b1, 'work', 400, 'q');
      await sleep(50);
      for (let i = 0; i < 5; i++) a1.publish('work', `${i}`);
      await a1.flush();
      assert.equal((await qa).length, 5);
      assert.equal((await qb).length, 0);
    } finally {
      await Promise.all([a1.close(), a2.close(), b1.close()]);
    }
  });

  scenario(
    'no_auth_user may name a user of an account',
    `${TWO}\nno_auth_user: b1\n`,
    async (srv) => {
      const anon = await connect({ port: srv.port, reconnect: false });
      const b1 = await as(srv.port, 'b1');
      try {
        const got = collect(b1, 'x', 300);
        await sleep(50);
        anon.publish('x', 'anon');
        await anon.flush();
        assert.deepEqual(await got, ['x:anon']);
      } finally {
        await Promise.all([anon.close(), b1.close()]);
      }
    },
  );
});

describe('accounts: users and limits', () => {
  const nk = createUser();
  scenario(
    'an nkey user of an account shares that account with its password users',
    `accounts { A { users: [ {user: a1, password: p}, {nkey: ${nk.getPublicKey()}} ] }\n B { users: [ {user: b1, password: p} ] }\n}`,
    async (srv) => {
      const n = await connect({ port: srv.port, authenticator: nkeyAuthenticator(nk.getSeed()), reconnect: false });
      const a1 = await as(srv.port, 'a1');
      const b1 = await as(srv.port, 'b1');
      try {
        const ga = collect(a1, 'k', 300);
        const gb = collect(b1, 'k', 300);
        await sleep(50);
        n.publish('k', 'nk');
        await n.flush();
        assert.deepEqual(await ga, ['k:nk']);
        assert.deepEqual(await gb, []);
      } finally {
        await Promise.all([n.close(), a1.close(), b1.close()]);
      }
    },
  );

  scenario(
    'an account connection limit refuses the next connection with the account error',
    `accounts { A { users: [ {user: a1, password: p} ], limits: { max_connections: 2 } } }`,
    async (srv) => {
      const c1 = await as(srv.port, 'a1');
      const c2 = await as(srv.port, 'a1');
      try {
        // nats-server writes the -ERR and closes at once: the client may see the error or the closed
        // socket (EPIPE) first; the log says why on both servers.
        await assert.rejects(as(srv.port, 'a1'), (e: Error) => /maximum account active connections exceeded|EPIPE|ECONNRESET|closed/i.test(String(e.message)));
        const end = Date.now() + 2000;
        while (!/maximum account active connections exceeded/i.test(srv.log()) && Date.now() < end) await sleep(20);
        assert.match(srv.log(), /maximum account active connections exceeded/i);
        await c1.close();
        await sleep(100);
        const c3 = await as(srv.port, 'a1');
        await c3.close();
      } finally {
        await c2.close();
      }
    },
  );

  scenario(
    'an account subscription limit is enforced',
    `accounts { A { users: [ {user: a1, password: p} ], limits: { max_subscriptions: 2 } } }`,
    async (srv) => {
      const c = await as(srv.port, 'a1');
      const errs: string[] = [];
      (async () => {
        for await (const s of c.status()) if (s.type === 'error') errs.push(String((s as { error?: Error }).error?.message ?? s));
      })().catch(() => undefined);
      try {
        c.subscribe('s1');
        c.subscribe('s2');
        c.subscribe('s3');
        await c.flush().catch(() => undefined);
        await sleep(200);
        assert.ok(errs.some((e) => /maximum subscriptions exceeded/i.test(e)) || c.isClosed(), `errors: ${errs.join(', ')}`);
      } finally {
        await c.close().catch(() => undefined);
      }
    },
  );

  scenario(
    'allowed_connection_types: a WEBSOCKET-only user cannot connect over the client port',
    `accounts { A { users: [ {user: w, password: p, allowed_connection_types: ["WEBSOCKET"]}, {user: s, password: p, allowed_connection_types: ["STANDARD"]} ] } }`,
    async (srv) => {
      await assert.rejects(as(srv.port, 'w'), (e: Error) => /Authorization Violation/i.test(String(e.message)));
      const s = await as(srv.port, 's');
      await s.close();
    },
  );
});

describe('accounts: reload', () => {
  for (const name of TARGETS) {
    it(`a user moved to another account is disconnected, the others stay in theirs [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 20000 }, async () => {
      const srv = await start(name, TWO);
      try {
        const a1 = await as(srv.port, 'a1');
        const a2 = await as(srv.port, 'a2');
        const b1 = await as(srv.port, 'b1');
        const closed = a2.closed();
        const text = readFileSync(srv.confFile, 'utf8');
        // a2 moves from A to B.
        writeFileSync(srv.confFile, text.replace(', {user: a2, password: p} ]', ' ]').replace('{user: b1, password: p} ]', '{user: b1, password: p}, {user: a2, password: p} ]'));
        if (srv.ts) await srv.ts.server.reload(loadConfigFile(srv.confFile).options);
        else process.kill(srv.pid!, 'SIGHUP');
        const end = Date.now() + 3000;
        while (!/Reloaded: accounts/.test(srv.log()) && Date.now() < end) await sleep(20);
        assert.match(srv.log(), /Reloaded: accounts/);
        await Promise.race([closed, sleep(3000)]);
        assert.equal(a2.isClosed(), true, 'a2 was disconnected');
        // a1 and b1 still work, each in its own account; a2 reconnects into B.
        const a2b = await as(srv.port, 'a2');
        const gb = collect(b1, 'after', 300);
        const ga = collect(a1, 'after', 300);
        await sleep(50);
        a2b.publish('after', 'x');
        await a2b.flush();
        assert.deepEqual(await gb, ['after:x']);
        assert.deepEqual(await ga, []);
        await Promise.all([a1.close(), b1.close(), a2b.close()]);
      } finally {
        await srv.stop();
      }
    });
  }
});
