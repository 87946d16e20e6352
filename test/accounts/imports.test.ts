// Imports and exports between accounts, each scenario against tsnats and the real nats-server
// 2.9.10 with the same file and the official client: public and private stream exports, `prefix`
// and `to`, service imports with `to` and wildcards, the three response types, no responders
// across accounts, queue groups in the exporter, headers (and the `Nats-Request-Info` header the
// server adds), a service import chain A→B→C, isolation of accounts without imports, hostile
// subjects; then response-mapping cleanup (tsnats) and reloads that change the imports.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { loadConfigFile } from '../../src/config/index.js';
import { client, SKIP_NATS_SERVER, sleep, startNatsServer, startTsnats, type Running, type TargetName } from '../wire/harness.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];
/** Results of a scenario on each server, compared when both have run. */
const reference = new Map<string, string[]>();
const pending = new Map<string, string[]>();

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

function as(port: number, user: string): Promise<NatsConnection> {
  return connect({ port, user, pass: 'p', reconnect: false });
}

/** Collects `subject:payload` of what a subscription receives for `ms`. */
async function collect(nc: NatsConnection, subject: string, ms: number, withReply = false): Promise<string[]> {
  const got: string[] = [];
  const sub = nc.subscribe(subject);
  (async () => {
    for await (const m of sub) got.push(`${m.subject}:${m.string()}${withReply ? `:${m.reply ?? ''}` : ''}`);
  })().catch(() => undefined);
  await nc.flush();
  return new Promise((r) => setTimeout(() => r(got), ms));
}

const CONF = `
accounts {
  A {
    users: [ {user: a, password: p} ]
    imports: [
      {stream: {account: B, subject: "pub.>"}}
      {stream: {account: B, subject: "priv.a"}, prefix: "b"}
      {stream: {account: B, subject: "ev.*"}, to: "events.*"}
      {service: {account: B, subject: "svc.echo"}}
      {service: {account: B, subject: "svc.math.*"}, to: "math.*"}
      {service: {account: B, subject: "svc.single"}}
      {service: {account: B, subject: "svc.stream"}, to: "stream"}
      {service: {account: B, subject: "svc.chunk"}}
      {service: {account: B, subject: "svc.none"}}
      {service: {account: B, subject: "svc.q"}}
      {service: {account: B, subject: "chain"}}
    ]
  }
  B {
    users: [ {user: b, password: p} ]
    exports: [
      {stream: "pub.>"}
      {stream: "priv.>", accounts: [A]}
      {stream: "ev.*"}
      {service: "svc.echo"}
      {service: "svc.math.*"}
      {service: "svc.single", response: singleton}
      {service: "svc.stream", response: stream}
      {service: "svc.chunk", response: chunked}
      {service: "svc.none"}
      {service: "svc.q"}
      {service: "chain"}
    ]
    imports: [ {service: {account: C, subject: "chain"}} ]
  }
  C {
    users: [ {user: c, password: p} ]
    exports: [ {service: "chain"} ]
  }
  D { users: [ {user: d, password: p} ] }
}
`;

describe('accounts: stream imports', () => {
  scenario('public stream export: the importer sees it under the same subject, nobody else', CONF, async (srv) => {
    const [a, b, d] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b'), as(srv.port, 'd')]);
    try {
      const ga = collect(a, 'pub.>', 400);
      const gall = collect(a, '>', 400);
      const gd = collect(d, '>', 400);
      await sleep(50);
      b.publish('pub.x.y', 'one');
      b.publish('other', 'not exported');
      await b.flush();
      assert.deepEqual(await ga, ['pub.x.y:one']);
      assert.deepEqual(await gall, ['pub.x.y:one']);
      assert.deepEqual(await gd, []);
    } finally {
      await Promise.all([a.close(), b.close(), d.close()]);
    }
  });

  scenario('private stream export with a prefix; the reply subject passes through unchanged', CONF, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      const ga = collect(a, '>', 400, true);
      await sleep(50);
      b.publish('priv.a', 'mine', { reply: 'r.1' });
      b.publish('priv.b', 'not imported');
      await b.flush();
      assert.deepEqual(await ga, ['b.priv.a:mine:r.1']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  scenario('stream import with `to` and a wildcard maps each token', CONF, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      const ga = collect(a, 'events.*', 400);
      await sleep(50);
      b.publish('ev.1', 'x');
      b.publish('ev.2', 'y');
      b.publish('ev.2.deep', 'z');
      await b.flush();
      assert.deepEqual(await ga, ['events.1:x', 'events.2:y']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  const OVERLAP = `
accounts {
  A { users: [ {user: a, password: p} ], imports: [ {stream: {account: B, subject: "foo.>"}}, {stream: {account: B, subject: "foo.bar"}}, {stream: {account: B, subject: "foo.*"}, prefix: "x"} ] }
  B { users: [ {user: b, password: p} ], exports: [ {stream: "foo.>"} ] }
}`;
  scenario('overlapping stream imports: a copy per import, but one per queue group', OVERLAP, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      const got: string[] = [];
      a.subscribe('>', { callback: (_e, m) => void got.push(`all:${m.subject}`) });
      a.subscribe('foo.bar', { callback: (_e, m) => void got.push(`lit:${m.subject}`) });
      a.subscribe('foo.*', { queue: 'q', callback: (_e, m) => void got.push(`q:${m.subject}`) });
      await a.flush();
      b.publish('foo.bar', 'x');
      b.publish('foo.baz.z', 'y');
      await b.flush();
      await sleep(300);
      assert.deepEqual(got.sort(), ['all:foo.bar', 'all:foo.bar', 'all:foo.baz.z', 'all:x.foo.bar', 'lit:foo.bar', 'lit:foo.bar', 'q:foo.bar']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  scenario('imports are one way: the importer publishing the subject reaches nobody in the exporter', CONF, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      const gb = collect(b, 'pub.>', 300);
      await sleep(50);
      a.publish('pub.x', 'from a');
      await a.flush();
      assert.deepEqual(await gb, []);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('accounts: service imports', () => {
  scenario('request/reply across accounts; headers kept, Nats-Request-Info added, `_R_.` reply', CONF, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      let seen: Msg | undefined;
      b.subscribe('svc.echo', {
        callback: (_e, m) => {
          seen = m;
          m.respond(`echo:${m.string()}`);
        },
      });
      await b.flush();
      const h = headers();
      h.set('X-Test', 'kept');
      const r = await a.request('svc.echo', 'hi', { timeout: 2000, headers: h });
      assert.equal(r.string(), 'echo:hi');
      assert.ok(seen);
      assert.equal(seen.subject, 'svc.echo');
      assert.match(seen.reply ?? '', /^_R_\.[0-9A-Za-z]{6}\.[0-9A-Za-z]{6}$/);
      assert.equal(seen.headers?.get('X-Test'), 'kept');
      const info = JSON.parse(seen.headers?.get('Nats-Request-Info') ?? '{}') as Record<string, unknown>;
      assert.equal(info.acc, 'A');
      assert.deepEqual(Object.keys(info).filter((k) => k !== 'rtt'), ['acc']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  scenario('wildcard service import with `to`: the local token lands in the exported subject', CONF, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      b.subscribe('svc.math.*', { callback: (_e, m) => void m.respond(m.subject) });
      await b.flush();
      assert.equal((await a.request('math.add', '', { timeout: 2000 })).string(), 'svc.math.add');
      assert.equal((await a.request('math.mul', '', { timeout: 2000 })).string(), 'svc.math.mul');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  for (const [subj, local, n] of [
    ['svc.single', 'svc.single', 1],
    ['svc.stream', 'stream', 3],
    ['svc.chunk', 'svc.chunk', 3],
  ] as const) {
    scenario(`response type of ${subj}: ${n} of 3 responses reach the requester`, CONF, async (srv) => {
      const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
      try {
        b.subscribe(subj, {
          callback: (_e, m) => {
            for (const x of ['r1', 'r2', 'r3']) m.respond(x);
          },
        });
        await b.flush();
        const got = collect(a, 'my.inbox', 500);
        await sleep(50);
        a.publish(local, 'q', { reply: 'my.inbox' });
        await a.flush();
        assert.deepEqual(await got, ['my.inbox:r1', 'my.inbox:r2', 'my.inbox:r3'].slice(0, n));
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  }

  const THRESH = `
accounts {
  A { users: [ {user: a, password: p} ], imports: [ {service: {account: B, subject: "feed"}}, {service: {account: B, subject: "file"}} ] }
  B { users: [ {user: b, password: p} ], exports: [ {service: "feed", response: stream, response_threshold: "300ms"}, {service: "file", response: chunked} ] }
}`;
  scenario('stream responses stop after response_threshold without a response', THRESH, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      b.subscribe('feed', {
        callback: (_e, m) => {
          m.respond('t0');
          setTimeout(() => m.respond('t100'), 100);
          setTimeout(() => m.respond('t1200'), 1200);
        },
      });
      await b.flush();
      const got = collect(a, 'feed.inbox', 1600);
      await sleep(50);
      a.publish('feed', '', { reply: 'feed.inbox' });
      await a.flush();
      assert.deepEqual(await got, ['feed.inbox:t0', 'feed.inbox:t100']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 20000);

  scenario('an empty message ends a chunked response', THRESH, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      b.subscribe('file', {
        callback: (_e, m) => {
          m.respond('c1');
          m.respond('c2');
          m.respond(new Uint8Array(0));
          m.respond('after-eof');
        },
      });
      await b.flush();
      const got = collect(a, 'file.inbox', 500);
      await sleep(50);
      a.publish('file', '', { reply: 'file.inbox' });
      await a.flush();
      assert.deepEqual(await got, ['file.inbox:c1', 'file.inbox:c2', 'file.inbox:']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  scenario('nobody subscribed in the exporter: the request times out (no 503 across an import, as nats-server)', CONF, async (srv) => {
    const a = await as(srv.port, 'a');
    try {
      await assert.rejects(a.request('svc.none', 'q', { timeout: 500 }), (e: Error) => /timeout/i.test(e.message) && !/503|no responders/i.test(e.message));
    } finally {
      await a.close();
    }
  });

  scenario('a queue group in the exporter gets one delivery per request', CONF, async (srv) => {
    const [a, b, b2] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b'), as(srv.port, 'b')]);
    try {
      let n = 0;
      for (const c of [b, b2]) {
        c.subscribe('svc.q', {
          queue: 'workers',
          callback: (_e, m) => {
            n++;
            m.respond('ok');
          },
        });
        await c.flush();
      }
      for (let i = 0; i < 10; i++) assert.equal((await a.request('svc.q', `${i}`, { timeout: 2000 })).string(), 'ok');
      await sleep(100);
      assert.equal(n, 10);
    } finally {
      await Promise.all([a.close(), b.close(), b2.close()]);
    }
  });

  scenario('a service import chain A → B → C answers, with `svc` in Nats-Request-Info', CONF, async (srv) => {
    const [a, b, c] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b'), as(srv.port, 'c')]);
    try {
      let info: Record<string, unknown> = {};
      c.subscribe('chain', {
        callback: (_e, m) => {
          info = JSON.parse(m.headers?.get('Nats-Request-Info') ?? '{}') as Record<string, unknown>;
          m.respond('from-c');
        },
      });
      await c.flush();
      assert.equal((await a.request('chain', 'q', { timeout: 2000 })).string(), 'from-c');
      assert.equal(info.acc, 'A');
      assert.equal(info.svc, 'B');
      // B's own clients reach C's service through B's import as well.
      assert.equal((await b.request('chain', 'q', { timeout: 2000 })).string(), 'from-c');
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

describe('accounts: service import with share', () => {
  const SHARE = `
server_name: shared-srv
accounts {
  A { users: [ {user: a, password: p} ], imports: [ {service: {account: B, subject: "svc"}, share: true} ] }
  B { users: [ {user: b, password: p} ], exports: [ {service: "svc"} ] }
}`;
  scenario('share: true puts the requester\'s details in Nats-Request-Info', SHARE, async (srv) => {
    const a = await connect({ port: srv.port, user: 'a', pass: 'p', reconnect: false, name: 'requester' });
    const b = await as(srv.port, 'b');
    try {
      let info: Record<string, unknown> = {};
      b.subscribe('svc', {
        callback: (_e, m) => {
          info = JSON.parse(m.headers?.get('Nats-Request-Info') ?? '{}') as Record<string, unknown>;
          m.respond('x');
        },
      });
      await b.flush();
      await a.request('svc', '', { timeout: 2000 });
      // `rtt` is left out when zero (Go's omitempty): tsnats may measure 0 ms at connect.
      assert.deepEqual(Object.keys(info).filter((k) => k !== 'rtt'), ['start', 'host', 'id', 'acc', 'user', 'name', 'lang', 'ver', 'server', 'kind', 'client_type']);
      assert.deepEqual([info.acc, info.user, info.name, info.host, info.server, info.kind, info.client_type], ['A', 'a', 'requester', '127.0.0.1', 'shared-srv', 'Client', 'nats']);
      assert.match(String(info.start), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('accounts: security of imports', () => {
  scenario('an account without imports never sees the traffic of the others', CONF, async (srv) => {
    const [a, b, c, d] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b'), as(srv.port, 'c'), as(srv.port, 'd')]);
    try {
      b.subscribe('svc.echo', { callback: (_e, m) => void m.respond('x') });
      await b.flush();
      const gd = collect(d, '>', 500);
      await sleep(50);
      b.publish('pub.1', 'p');
      b.publish('priv.a', 'p');
      await a.request('svc.echo', 'q', { timeout: 2000 });
      // D publishing the imported subjects reaches nobody in A or B.
      const ga = collect(a, 'pub.>', 200);
      d.publish('pub.2', 'from d');
      d.publish('svc.echo', 'from d');
      await d.flush();
      assert.deepEqual(await ga, []);
      assert.deepEqual(await gd, ['pub.2:from d', 'svc.echo:from d']);
    } finally {
      await Promise.all([a.close(), b.close(), c.close(), d.close()]);
    }
  });

  scenario('a forged Nats-Request-Info header is replaced by the server\'s', CONF, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      const seen: string[] = [];
      b.subscribe('svc.echo', {
        callback: (_e, m) => {
          seen.push(...(m.headers?.values('Nats-Request-Info') ?? []));
          m.respond('ok');
        },
      });
      await b.flush();
      const h = headers();
      h.set('Nats-Request-Info', '{"acc":"B","user":"admin"}');
      await a.request('svc.echo', 'x', { timeout: 2000, headers: h });
      assert.equal(seen.length, 1);
      const info = JSON.parse(seen[0]!) as Record<string, unknown>;
      assert.equal(info.acc, 'A');
      assert.equal(info.user, undefined);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  scenario('odd header blocks through a service import: each request arrives with the server\'s info, the server stays up', CONF, async (srv) => {
    const b = await as(srv.port, 'b');
    try {
      const accs: string[] = [];
      b.subscribe('svc.echo', {
        callback: (_e, m) => {
          const v = m.headers?.values('Nats-Request-Info') ?? [];
          accs.push(v.map((x) => (JSON.parse(x) as { acc: string }).acc).join(','));
        },
      });
      await b.flush();
      const raw = await client(srv.port, '{"verbose":false,"pedantic":false,"headers":true,"user":"a","pass":"p"}');
      const blocks = ['NATS/1.0\r\n\r\n', 'NATS/1.0\r\nNats-Request-Info:\r\n\r\n', 'NATS/1.0\r\nNats-Request-Info: {"acc":"B"}\r\nX: 1\r\n\r\n', 'NATS/1.0 503\r\n\r\n'];
      for (const h of blocks) raw.send(`HPUB svc.echo _INBOX.x ${h.length} ${h.length + 3}\r\n${h}abc\r\n`);
      raw.send('PING\r\n');
      await raw.waitText('PONG');
      raw.close();
      for (let i = 0; i < 50 && accs.length < blocks.length; i++) await sleep(20);
      assert.deepEqual(accs, ['A', 'A', 'A', 'A']);
      const a = await as(srv.port, 'a');
      b.subscribe('svc.single', { callback: (_e, m) => void m.respond('still up') });
      await b.flush();
      assert.equal((await a.request('svc.single', '', { timeout: 2000 })).string(), 'still up');
      await a.close();
    } finally {
      await b.close();
    }
  });

  scenario('large payloads cross stream and service imports intact', CONF, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      const big = new Uint8Array(200_000).map((_, i) => (i * 7) % 251);
      b.subscribe('svc.echo', { callback: (_e, m) => void m.respond(m.data) });
      await b.flush();
      const r = await a.request('svc.echo', big, { timeout: 5000 });
      assert.deepEqual(Buffer.from(r.data), Buffer.from(big));
      const got: Uint8Array[] = [];
      a.subscribe('pub.big', { callback: (_e, m) => void got.push(m.data) });
      await a.flush();
      b.publish('pub.big', big);
      await b.flush();
      for (let i = 0; i < 50 && got.length === 0; i++) await sleep(20);
      assert.equal(got.length, 1);
      assert.deepEqual(Buffer.from(got[0]!), Buffer.from(big));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  scenario('hostile subjects: `_R_.` replies are refused, guessed `_R_.` subjects reach nobody in another account', CONF, async (srv) => {
    const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
    try {
      // B sees its responder's reply subject; A publishing to such subjects stays in A.
      let reply = '';
      b.subscribe('svc.stream', { callback: (_e, m) => void (reply = m.reply ?? "") });
      await b.flush();
      const gb = collect(b, '>', 400);
      const inbox = collect(a, 'my.inbox', 400);
      await sleep(50);
      a.publish('stream', 'q', { reply: 'my.inbox' });
      await a.flush();
      await sleep(100);
      assert.match(reply, /^_R_\./);
      const raw = await client(srv.port, '{"verbose":false,"pedantic":false,"user":"a","pass":"p"}');
      raw.send(`PUB ${reply} 4\r\nfake\r\nPUB x _R_.abc.def 1\r\ny\r\nPING\r\n`);
      await raw.waitText('PONG');
      assert.match(raw.text, /-ERR 'Permissions Violation for Publish with Reply of "_R_.abc.def"'/);
      raw.close();
      assert.deepEqual(await inbox, []);
      assert.deepEqual((await gb).filter((s) => !s.startsWith('svc.stream:')), []);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('accounts: random traffic across imports (differential)', () => {
  const RAND = `
accounts {
  A {
    users: [ {user: a, password: p} ]
    exports: [ {stream: "a.>"}, {service: "as.*"} ]
    imports: [ {stream: {account: B, subject: "b.*"}, prefix: "fromb"}, {service: {account: B, subject: "bs.>"}, to: "callb.>"}, {stream: {account: C, subject: "c.x.*"}, to: "cx.*"} ]
  }
  B {
    users: [ {user: b, password: p} ]
    exports: [ {stream: "b.*"}, {stream: "b.secret", accounts: [C]}, {service: "bs.>"} ]
    imports: [ {stream: {account: A, subject: "a.>"}}, {service: {account: A, subject: "as.*"}} ]
  }
  C {
    users: [ {user: c, password: p} ]
    exports: [ {stream: "c.>"} ]
    imports: [ {stream: {account: B, subject: "b.secret"}, prefix: "s"} ]
  }
  D { users: [ {user: d, password: p} ] }
}
mappings { "g.*": "mapped.$1" }
authorization { users: [ {user: g, password: p} ] }
`;
  scenario('200 random publishes: every account receives exactly what nats-server delivers', RAND, async (srv) => {
    const users = ['a', 'b', 'c', 'd', 'g'];
    const conns = await Promise.all(users.map((u) => as(srv.port, u)));
    try {
      const got: string[] = [];
      conns.forEach((nc, i) => nc.subscribe('>', { callback: (_e, m) => void got.push(`${users[i]}<${m.subject}:${m.string()}`) }));
      await Promise.all(conns.map((c) => c.flush()));
      let seed = 42;
      const rnd = (n: number): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 8) % n;
      };
      const toks = ['a', 'b', 'c', 'x', 'bs', 'as', 'callb', 'secret', 'g', 'fromb', 'cx', '_R_', 'y'];
      for (let k = 0; k < 200; k++) {
        const n = 1 + rnd(3);
        const subj = Array.from({ length: n }, () => toks[rnd(toks.length)]).join('.');
        const who = rnd(users.length);
        if (rnd(3) === 0) conns[who]!.publish(subj, `${k}`, { reply: `r.${k}` });
        else conns[who]!.publish(subj, `${k}`);
      }
      await Promise.all(conns.map((c) => c.flush()));
      await sleep(400);
      // Compare with the reference run (nats-server) through a snapshot written by that run.
      got.sort();
      const key = 'random-traffic';
      if (srv.name === 'nats-server') reference.set(key, got);
      else pending.set(key, got);
      const ref = reference.get(key);
      const mine = pending.get(key);
      if (ref && mine) assert.deepEqual(mine, ref);
      assert.ok(got.length > 200);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });
});

describe('accounts: subject mappings', () => {
  const MAPS = `
mappings { "orders.*.*": "shop.$2.$1", "old": "new", "sp.*": "split.{{split(1,-)}}", "sl.*": "slice.{{sliceFromLeft(1,2)}}", "sr.*": "{{sliceFromRight(1,2)}}.sr", "fl.*": "{{splitFromLeft(1,1)}}.fl" }
accounts {
  M { users: [ {user: m, password: p} ], mappings: { "in.*": "out.{{wildcard(1)}}", "p.*": "part.{{partition(4,1)}}" } }
}
authorization { users: [ {user: g, password: p} ] }
`;
  scenario('top-level mappings apply to $G, account mappings to that account only', MAPS, async (srv) => {
    const [g, m] = await Promise.all([as(srv.port, 'g'), as(srv.port, 'm')]);
    try {
      const gg = collect(g, '>', 400);
      const gm = collect(m, '>', 400);
      await sleep(50);
      g.publish('orders.eu.42', '1');
      g.publish('old', '2');
      g.publish('in.x', '3');
      g.publish('sp.-a-b--c-', '7');
      g.publish('sl.abcde', '8');
      g.publish('sr.abcde', '9');
      g.publish('fl.xyz', '10');
      m.publish('in.x', '4');
      m.publish('orders.eu.42', '5');
      m.publish('p.abc', '6');
      await Promise.all([g.flush(), m.flush()]);
      assert.deepEqual(await gg, ['shop.42.eu:1', 'new:2', 'in.x:3', 'split.a.b.c:7', 'slice.ab.cd.e:8', 'a.bc.de.sr:9', 'x.yz.fl:10']);
      const got = await gm;
      assert.deepEqual(got.slice(0, 2), ['out.x:4', 'orders.eu.42:5']);
      // {{partition(4,1)}}: FNV-1a (32 bit) of the token, modulo 4.
      let h = 0x811c9dc5;
      for (const ch of Buffer.from('abc')) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
      assert.equal(got[2], `part.${h % 4}:6`);
    } finally {
      await Promise.all([g.close(), m.close()]);
    }
  });
});

describe('accounts: weighted mappings', () => {
  const W = `
mappings {
  "w": [ {destination: "w1", weight: 50%}, {destination: "w2", weight: 50%} ]
  "p": {destination: "p1", weight: 30}
  "drop": [ {destination: "drop", weight: 40}, {destination: "k", weight: 20} ]
  "cl.*": [ {destination: "elsewhere.$1", weight: 100, cluster: "other"} ]
}
`;
  scenario('destinations are picked by weight; the unlisted share stays, a listed source\'s rest is dropped', W, async (srv) => {
    const nc = await connect({ port: srv.port, reconnect: false });
    try {
      const counts = new Map<string, number>();
      nc.subscribe('>', { callback: (_e, m) => void counts.set(m.subject, (counts.get(m.subject) ?? 0) + 1) });
      await nc.flush();
      for (let i = 0; i < 400; i++) for (const s of ['w', 'p', 'drop']) nc.publish(s, '');
      nc.publish('cl.x', '');
      await nc.flush();
      await sleep(300);
      const c = (s: string): number => counts.get(s) ?? 0;
      const near = (s: string, want: number): void => assert.ok(Math.abs(c(s) - want) <= 70, `${s}: ${c(s)}, expected about ${want}`);
      assert.equal(c('w') + c('w1') + c('w2'), 400);
      assert.equal(c('w'), 0);
      near('w1', 200);
      near('w2', 200);
      assert.equal(c('p') + c('p1'), 400);
      near('p1', 120);
      near('drop', 160);
      near('k', 80);
      assert.ok(c('drop') + c('k') < 330, `some of "drop" is dropped: ${c('drop') + c('k')}`);
      // Cluster-scoped destinations apply only in that cluster: here the source stays.
      assert.equal(c('cl.x'), 1);
    } finally {
      await nc.close();
    }
  });
});

describe('accounts: response mappings stay bounded (tsnats)', () => {
  it('singleton mappings go with their response; unanswered ones expire after response_threshold', { timeout: 20000 }, async () => {
    const srv = await startTsnats(`
accounts {
  A { users: [ {user: a, password: p} ], imports: [ {service: {account: B, subject: "s"}}, {service: {account: B, subject: "slow"}} ] }
  B { users: [ {user: b, password: p} ], exports: [ {service: "s"}, {service: "slow", response_threshold: "300ms"} ] }
}`);
    try {
      const links = srv.ts!.server.links!;
      const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
      b.subscribe('s', { callback: (_e, m) => void m.respond('ok') });
      b.subscribe('slow', { callback: () => undefined });
      await b.flush();
      for (let i = 0; i < 200; i++) await a.request('s', '', { timeout: 2000 });
      assert.equal(links.stats().pendingResponses, 0);
      await Promise.allSettled(Array.from({ length: 20 }, () => a.request('slow', '', { timeout: 100 })));
      assert.equal(links.stats().pendingResponses, 20);
      await sleep(700);
      assert.equal(links.stats().pendingResponses, 0);
      assert.equal(links.stats().expired, 20);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await srv.stop();
    }
  });
});

describe('accounts: reload changes imports', () => {
  const base = (withImport: boolean): string => `
accounts {
  A { users: [ {user: a, password: p} ]${withImport ? ', imports: [ {stream: {account: B, subject: "feed"}}, {service: {account: B, subject: "svc"}} ]' : ''} }
  B { users: [ {user: b, password: p} ], exports: [ {stream: "feed"}, {service: "svc"} ] }
}`;
  for (const name of TARGETS) {
    it(`adding and removing imports by reload [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 20000 }, async () => {
      const srv = await start(name, base(false));
      const reload = async (withImport: boolean): Promise<void> => {
        writeFileSync(srv.confFile, `host: 127.0.0.1\nport: -1\n${name === 'nats-server' ? `ports_file_dir: "${srv.dir}"\n` : ''}${base(withImport)}\n`);
        if (srv.ts) await srv.ts.server.reload(loadConfigFile(srv.confFile).options);
        else process.kill(srv.pid!, 'SIGHUP');
        await sleep(300);
      };
      try {
        const [a, b] = await Promise.all([as(srv.port, 'a'), as(srv.port, 'b')]);
        b.subscribe('svc', { callback: (_e, m) => void m.respond('answer') });
        await b.flush();
        const round = async (): Promise<string[]> => {
          const g = collect(a, 'feed', 300);
          await sleep(50);
          b.publish('feed', 'f');
          await b.flush();
          const out = [...(await g)];
          out.push(await a.request('svc', '', { timeout: 500 }).then((m) => m.string(), () => 'no answer'));
          return out;
        };
        assert.deepEqual(await round(), ['no answer']);
        await reload(true);
        assert.deepEqual(await round(), ['feed:f', 'answer']);
        await reload(false);
        assert.deepEqual(await round(), ['no answer']);
        await Promise.all([a.close(), b.close()]);
      } finally {
        await srv.stop();
      }
    });
  }
});
