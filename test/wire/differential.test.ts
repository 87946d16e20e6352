// Byte-level client protocol scenarios, each written once and run against tsnats and (when
// installed) the real nats-server 2.9.10. Expectations are exact bytes after the INFO line (ids
// are normalised by only comparing INFO's shape).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { client, Conn, infoShape, SKIP_NATS_SERVER, sleep, startTarget, type Running, type TargetName } from './harness.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

function scenario(title: string, conf: string, body: (srv: Running) => Promise<void>, timeout = 15000): void {
  for (const name of TARGETS) {
    it(`${title} [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout }, async () => {
      const srv = await startTarget(name, conf);
      try {
        await body(srv);
      } finally {
        await srv.stop();
      }
    });
  }
}

/** Sends `input` after INFO, waits for `expected` (exact text after INFO) and checks the closure. */
async function exchange(
  srv: Running,
  input: string,
  expected: string,
  opts: { closes?: boolean; waitMs?: number; slow?: boolean } = {},
): Promise<Conn> {
  const c = await Conn.open(srv.port);
  await c.info();
  if (opts.slow) await c.sendSlowly(input);
  else c.send(input);
  if (opts.closes) {
    assert.equal(await c.waitClosed(opts.waitMs ?? 3000), true, `connection should close; got ${JSON.stringify(c.afterInfo)}`);
  } else {
    await c.waitFor((t) => t.length - t.indexOf('\r\n') - 2 >= expected.length, opts.waitMs ?? 3000).catch(() => undefined);
    await sleep(50);
    assert.equal(c.closed, false, `connection should stay open; got ${JSON.stringify(c.afterInfo)}`);
  }
  assert.equal(c.afterInfo, expected);
  c.close();
  return c;
}

describe('wire: INFO', () => {
  scenario('INFO shape and framing', '', async (srv) => {
    const c = await Conn.open(srv.port);
    const info = await c.info();
    assert.deepEqual(infoShape(info), [
      ['server_id', 'string'],
      ['server_name', 'string'],
      ['version', 'string'],
      ['proto', '1'],
      ['go', 'string'],
      ['host', 'string'],
      ['port', 'number'],
      ['headers', 'true'],
      ['max_payload', '1048576'],
      ['client_id', 'number'],
      ['client_ip', 'string'],
    ]);
    assert.match(String(info.server_id), /^N[A-Z2-7]{55}$/);
    assert.equal(info.server_name, info.server_id);
    assert.match(String(info.version), /^\d+\.\d+\.\d+$/);
    assert.equal(info.port, srv.port);
    assert.equal(info.client_ip, '127.0.0.1');
    assert.match(c.text, /^INFO \{.*\} \r\n$/);
    c.close();
  });

  scenario('INFO with auth, limits and a server name', 'server_name: srv1\nmax_payload: 2048\nauthorization { token: s3cret }', async (srv) => {
    const c = await Conn.open(srv.port);
    const info = await c.info();
    assert.deepEqual(infoShape(info), [
      ['server_id', 'string'],
      ['server_name', 'string'],
      ['version', 'string'],
      ['proto', '1'],
      ['go', 'string'],
      ['host', 'string'],
      ['port', 'number'],
      ['headers', 'true'],
      ['auth_required', 'true'],
      ['max_payload', '2048'],
      ['client_id', 'number'],
      ['client_ip', 'string'],
    ]);
    assert.equal(info.server_name, 'srv1');
    c.close();
  });

  scenario('client ids increase per connection', '', async (srv) => {
    const a = await Conn.open(srv.port);
    const ia = await a.info();
    const b = await Conn.open(srv.port);
    const ib = await b.info();
    assert.ok((ib.client_id as number) > (ia.client_id as number));
    a.close();
    b.close();
  });
});

describe('wire: core operations', () => {
  scenario('CONNECT {} defaults to verbose (+OK), PING/PONG', '', async (srv) => {
    await exchange(srv, 'CONNECT {}\r\nPING\r\n', '+OK\r\nPONG\r\n');
  });

  scenario('PING before CONNECT gets PONG (no auth)', '', async (srv) => {
    await exchange(srv, 'PING\r\n', 'PONG\r\n');
  });

  scenario('verbose: +OK after SUB, UNSUB, PUB', '', async (srv) => {
    await exchange(srv, 'CONNECT {}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nUNSUB 99\r\nPING\r\n', '+OK\r\n+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n+OK\r\n+OK\r\nPONG\r\n');
  });

  scenario('pub/sub with reply, wildcards, empty payload', '', async (srv) => {
    // Delivery order among a connection's matching subscriptions is unspecified (nats-server: map order).
    const c = await Conn.open(srv.port);
    await c.info();
    c.send('CONNECT {"verbose":false}\r\nSUB foo.* 1\r\nSUB foo.> 2\r\nSUB foo.bar 3\r\nPUB foo.bar rep.ly 5\r\nhello\r\n');
    await c.roundTrip();
    c.send('PUB foo.bar.baz 0\r\n\r\n');
    await c.roundTrip();
    const [first, second] = c.afterInfo.split('PONG\r\n');
    const msgs = first!.split('hello\r\n').filter((x) => x !== '').sort();
    assert.deepEqual(msgs, ['MSG foo.bar 1 rep.ly 5\r\n', 'MSG foo.bar 2 rep.ly 5\r\n', 'MSG foo.bar 3 rep.ly 5\r\n']);
    assert.equal(second, 'MSG foo.bar.baz 2 0\r\n\r\n');
    c.close();
  });

  scenario('messages between two connections', '', async (srv) => {
    const sub = await client(srv.port);
    sub.send('SUB a.b 7\r\n');
    await sub.roundTrip();
    const pub = await client(srv.port);
    pub.send('PUB a.b 3\r\nxyz\r\n');
    await pub.roundTrip();
    await sub.waitText('MSG a.b 7 3\r\nxyz\r\n');
    assert.equal(sub.afterInfo, 'PONG\r\nMSG a.b 7 3\r\nxyz\r\n');
    sub.close();
    pub.close();
  });

  scenario('HPUB/HMSG, and headers stripped for a subscriber without headers', '', async (srv) => {
    const plain = await client(srv.port, '{"verbose":false}');
    plain.send('SUB h 1\r\n');
    await plain.roundTrip();
    const h = await client(srv.port, '{"verbose":false,"headers":true}');
    h.send('SUB h 2\r\nHPUB h r 24 29\r\nNATS/1.0\r\nA: B\r\nC: D\r\n\r\nhello\r\n');
    await h.roundTrip();
    await plain.waitText('hello\r\n');
    assert.equal(h.afterInfo, 'HMSG h 2 r 24 29\r\nNATS/1.0\r\nA: B\r\nC: D\r\n\r\nhello\r\nPONG\r\n');
    assert.equal(plain.afterInfo, 'PONG\r\nMSG h 1 r 5\r\nhello\r\n');
    plain.close();
    h.close();
  });

  scenario('UNSUB with max auto-unsubscribes', '', async (srv) => {
    await exchange(
      srv,
      'CONNECT {"verbose":false}\r\nSUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n',
      'MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n',
    );
  });

  scenario('UNSUB max already reached, bad max, reused sid', '', async (srv) => {
    await exchange(
      srv,
      'CONNECT {"verbose":false}\r\nSUB foo 1\r\nSUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1 1\r\nPUB foo 1\r\nb\r\nSUB bar 2\r\nUNSUB 2 x\r\nPUB bar 1\r\nc\r\nPING\r\n',
      'MSG foo 1 1\r\na\r\nPONG\r\n',
    );
  });

  scenario('echo:false', '', async (srv) => {
    const a = await client(srv.port, '{"verbose":false,"echo":false}');
    const b = await client(srv.port, '{"verbose":false}');
    a.send('SUB e 1\r\n');
    b.send('SUB e 1\r\n');
    await a.roundTrip();
    await b.roundTrip();
    a.send('PUB e 1\r\nx\r\n');
    await a.roundTrip();
    await b.waitText('MSG e 1 1\r\nx\r\n');
    assert.equal(a.afterInfo, 'PONG\r\nPONG\r\n');
    a.close();
    b.close();
  });

  scenario('queue groups: one member per group, plain subscribers get all', '', async (srv) => {
    const q1 = await client(srv.port);
    const q2 = await client(srv.port);
    const q3 = await client(srv.port);
    const plain = await client(srv.port);
    q1.send('SUB work g 1\r\n');
    q2.send('SUB work g 1\r\n');
    q3.send('SUB work other 1\r\n');
    plain.send('SUB work 1\r\n');
    for (const c of [q1, q2, q3, plain]) await c.roundTrip();
    const pub = await client(srv.port);
    const n = 40;
    for (let i = 0; i < n; i++) pub.send('PUB work 1\r\nx\r\n');
    await pub.roundTrip();
    const count = (c: Conn): number => (c.text.match(/MSG work 1 1\r\n/g) ?? []).length;
    await plain.waitFor(() => count(plain) === n);
    await q3.waitFor(() => count(q3) === n);
    await q1.waitFor(() => count(q1) + count(q2) === n);
    await sleep(50);
    assert.equal(count(q1) + count(q2), n);
    assert.ok(count(q1) > 0 && count(q2) > 0, `both members used: ${count(q1)}/${count(q2)}`);
    for (const c of [q1, q2, q3, plain, pub]) c.close();
  });

  scenario('no responders: 503 status to the requester', '', async (srv) => {
    await exchange(
      srv,
      'CONNECT {"verbose":false,"headers":true,"no_responders":true,"protocol":1}\r\nSUB _INBOX.abc.* 1\r\nPUB svc _INBOX.abc.1 2\r\nhi\r\nPING\r\n',
      'HMSG _INBOX.abc.1 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n',
    );
  });

  scenario('no responders not sent when someone got the request', '', async (srv) => {
    await exchange(
      srv,
      'CONNECT {"verbose":false,"headers":true,"no_responders":true,"protocol":1}\r\nSUB svc q 2\r\nSUB _INBOX.x 1\r\nPUB svc _INBOX.x 2\r\nhi\r\nPING\r\n',
      'MSG svc 2 _INBOX.x 2\r\nhi\r\nPONG\r\n',
    );
  });

  scenario('ops are case-insensitive', '', async (srv) => {
    await exchange(srv, 'cOnNeCt {"verbose":false}\r\nsUb foo 1\r\npUb foo 2\r\nhi\r\nuNsUb 1\r\npUb foo 2\r\nhi\r\npInG\r\n', 'MSG foo 1 2\r\nhi\r\nPONG\r\n');
  });

  scenario('split reads: one byte at a time', '', async (srv) => {
    await exchange(
      srv,
      'CONNECT {"verbose":false,"headers":true}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n',
      'MSG foo 1 5\r\nhello\r\nHMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\n',
      { slow: true, waitMs: 5000 },
    );
  });

  scenario('\\n-only line endings and extra spaces/tabs between arguments', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\nSUB  foo \t 1\nPUB foo   2\r\nhi\r\nPING\n', 'MSG foo 1 2\r\nhi\r\nPONG\r\n');
  });

  scenario('PING/PONG/+OK prefixes and client INFO are ignored', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\nPINGXX\r\nPONGYY\r\n+OK\r\nINFO {}\r\nPING\r\n', 'PONG\r\nPONG\r\n');
  });

  scenario('second CONNECT keeps omitted keys', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\nCONNECT {"name":"x"}\r\nSUB a 1\r\nCONNECT {"verbose":true}\r\nPING\r\n', '+OK\r\nPONG\r\n');
  });

  scenario('large payload across reads', 'max_payload: 300000', async (srv) => {
    const body = 'x'.repeat(200000);
    const c = await client(srv.port);
    c.send(`SUB big 1\r\nPUB big ${body.length}\r\n${body}\r\n`);
    await c.roundTrip(5000);
    assert.equal(c.afterInfo, `MSG big 1 ${body.length}\r\n${body}\r\nPONG\r\n`);
    c.close();
  });
});

describe('wire: errors', () => {
  scenario('unknown op', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\nFOO bar\r\n', "-ERR 'Unknown Protocol Operation'\r\n", { closes: true });
  });

  scenario('empty line', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\n\r\n', "-ERR 'Unknown Protocol Operation'\r\n", { closes: true });
  });

  scenario('payload not followed by CRLF', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\nPUB foo 1\r\nxAB', "-ERR 'Unknown Protocol Operation'\r\n", { closes: true });
  });

  scenario('maximum control line exceeded', 'max_control_line: 32', async (srv) => {
    await exchange(srv, `CONNECT {}\r\nSUB ${'a'.repeat(40)} 1\r\n`, "+OK\r\n-ERR 'maximum control line exceeded'\r\n", { closes: true });
  });

  scenario('maximum payload violation', 'max_payload: 4', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\nPUB foo 5\r\nhello\r\n', "-ERR 'Maximum Payload Violation'\r\n", { closes: true });
  });

  scenario('invalid subject on SUB (connection stays)', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\nSUB foo..bar 1\r\nSUB .x 2\r\nSUB foo.>.bar 3\r\nPING\r\n', "-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\nPONG\r\n");
  });

  scenario('pedantic: Invalid Publish Subject, message still delivered', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false,"pedantic":true}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\nx\r\nPING\r\n', "-ERR 'Invalid Publish Subject'\r\nMSG foo.* 1 1\r\nx\r\nPONG\r\n");
  });

  scenario('reserved reply subjects', '', async (srv) => {
    await exchange(
      srv,
      'CONNECT {"verbose":false}\r\nPUB foo _R_.x 1\r\nx\r\nPUB foo _GR_.y 1\r\nx\r\nPING\r\n',
      '-ERR \'Permissions Violation for Publish with Reply of "_R_.x"\'\r\n-ERR \'Permissions Violation for Publish with Reply of "_GR_.y"\'\r\nPONG\r\n',
    );
  });

  scenario('invalid client protocol', '', async (srv) => {
    await exchange(srv, 'CONNECT {"protocol":2}\r\n', "-ERR 'invalid client protocol'\r\n", { closes: true });
  });

  scenario('no_responders requires headers', '', async (srv) => {
    await exchange(srv, 'CONNECT {"no_responders":true}\r\n', "-ERR 'no responders requires headers support'\r\n", { closes: true });
  });

  scenario('bad arguments close silently', '', async (srv) => {
    for (const bad of ['PUB foo\r\n', 'PUB foo bar baz 1\r\n', 'PUB foo -1\r\n', 'SUB foo\r\n', 'SUB a b c d\r\n', 'HPUB foo 12 12\r\n', 'CONNECT xx\r\n']) {
      const c = await Conn.open(srv.port);
      await c.info();
      c.send(`CONNECT {"verbose":false}\r\n${bad}`);
      assert.equal(await c.waitClosed(2000), true, `closes on ${JSON.stringify(bad)}`);
      assert.equal(c.afterInfo, '', `nothing sent for ${JSON.stringify(bad)}`);
    }
  });

  scenario('client -ERR closes silently', '', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\n-ERR foo\r\n', '', { closes: true });
  });

  scenario('maximum subscriptions exceeded (stays)', 'max_subscriptions: 1', async (srv) => {
    await exchange(srv, 'CONNECT {"verbose":false}\r\nSUB a 1\r\nSUB b 2\r\nPING\r\n', "-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
  });

  scenario('maximum connections exceeded (INFO, then -ERR)', 'max_connections: 1', async (srv) => {
    const a = await client(srv.port);
    await a.roundTrip();
    const b = await Conn.open(srv.port);
    await b.info();
    assert.equal(await b.waitClosed(), true);
    assert.equal(b.afterInfo, "-ERR 'maximum connections exceeded'\r\n");
    a.close();
  });

  scenario('stale connection', 'ping_interval: "100ms"\nping_max: 2', async (srv) => {
    const c = await client(srv.port);
    assert.equal(await c.waitClosed(3000), true);
    assert.equal(c.afterInfo, "PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
  });

  scenario('answered server PINGs keep the connection', 'ping_interval: "100ms"\nping_max: 1', async (srv) => {
    const c = await client(srv.port);
    const end = Date.now() + 800;
    let answered = 0;
    while (Date.now() < end) {
      const pings = (c.text.match(/PING\r\n/g) ?? []).length;
      if (pings > answered) {
        c.send('PONG\r\n');
        answered = pings;
      }
      await sleep(10);
    }
    assert.equal(c.closed, false);
    assert.ok(answered >= 2, `server pinged ${answered} times`);
    c.close();
  });
});

describe('wire: authentication', () => {
  scenario('op before CONNECT when auth is required', 'authorization { token: abc }', async (srv) => {
    await exchange(srv, 'PING\r\n', "-ERR 'Authorization Violation'\r\n", { closes: true });
  });

  scenario('bad token', 'authorization { token: abc }', async (srv) => {
    await exchange(srv, 'CONNECT {"auth_token":"nope"}\r\n', "-ERR 'Authorization Violation'\r\n", { closes: true });
  });

  scenario('good token', 'authorization { token: abc }', async (srv) => {
    await exchange(srv, 'CONNECT {"auth_token":"abc"}\r\nPING\r\n', '+OK\r\nPONG\r\n');
  });

  scenario('user/password (plain and bcrypt)', 'authorization { users: [ {user: a, password: b}, {user: h, password: "$2b$04$VfGxfXDHNrpLQn3DYi8IR.zUFv3XY9fLETX2BmHpuPKuWXkX4a8e2"} ] }', async (srv) => {
    await exchange(srv, 'CONNECT {"user":"a","pass":"b","verbose":false}\r\nPING\r\n', 'PONG\r\n');
    await exchange(srv, 'CONNECT {"user":"h","pass":"pass","verbose":false}\r\nPING\r\n', 'PONG\r\n');
    await exchange(srv, 'CONNECT {"user":"h","pass":"nope","verbose":false}\r\nPING\r\n', "-ERR 'Authorization Violation'\r\n", { closes: true });
    await exchange(srv, 'CONNECT {"user":"zz","pass":"b"}\r\n', "-ERR 'Authorization Violation'\r\n", { closes: true });
  });

  scenario('authentication timeout', 'authorization { token: abc, timeout: 0.3 }', async (srv) => {
    await exchange(srv, '', "-ERR 'Authentication Timeout'\r\n", { closes: true });
  });

  scenario('no_auth_user allows CONNECT without credentials', 'authorization { users: [ {user: a, password: b}, {user: anon, password: x} ] }\nno_auth_user: anon', async (srv) => {
    const c = await Conn.open(srv.port);
    const info = await c.info();
    assert.equal(info.auth_required, undefined);
    c.send('CONNECT {"verbose":false}\r\nPING\r\n');
    await c.waitText('PONG\r\n');
    c.close();
  });

  scenario(
    'permissions: publish and subscribe violations keep the connection',
    'authorization { users: [ {user: a, password: b, permissions: { publish: { allow: ["foo.>", "bar"], deny: ["foo.secret"] }, subscribe: { allow: ["foo.>", "q v1"], deny: ["foo.private.>"] } } } ] }',
    async (srv) => {
      await exchange(
        srv,
        'CONNECT {"user":"a","pass":"b","verbose":false}\r\nPUB baz 1\r\nx\r\nPUB foo.secret 1\r\nx\r\nSUB other 1\r\nSUB foo.private.x 2\r\nSUB q v2 3\r\nSUB q v1 4\r\nSUB foo.ok 5\r\nPUB foo.ok 1\r\ny\r\nPING\r\n',
        '-ERR \'Permissions Violation for Publish to "baz"\'\r\n' +
          '-ERR \'Permissions Violation for Publish to "foo.secret"\'\r\n' +
          '-ERR \'Permissions Violation for Subscription to "other"\'\r\n' +
          '-ERR \'Permissions Violation for Subscription to "foo.private.x"\'\r\n' +
          '-ERR \'Permissions Violation for Subscription to "q" using queue "v2"\'\r\n' +
          'MSG foo.ok 5 1\r\ny\r\nPONG\r\n',
      );
    },
  );

  scenario(
    'permissions: wildcard subscription overlapping a deny filters deliveries',
    'authorization { users: [ {user: a, password: b, permissions: { subscribe: { deny: ["foo.bar"] } } } ] }',
    async (srv) => {
      await exchange(
        srv,
        'CONNECT {"user":"a","pass":"b","verbose":false}\r\nSUB foo.* 1\r\nPUB foo.bar 1\r\nx\r\nPUB foo.baz 1\r\ny\r\nPING\r\n',
        'MSG foo.baz 1 1\r\ny\r\nPONG\r\n',
      );
    },
  );
});

describe('wire: TLS (INFO in plaintext first)', async () => {
  const { pki } = await import('../client/helpers.js');
  const p = await pki();
  const tlsConf = `tls { cert_file: "${p.server.certFile}", key_file: "${p.server.keyFile}", ca_file: "${p.caFile}", verify: true, timeout: 0.3 }`;

  scenario('INFO flags with verify', tlsConf, async (srv) => {
    const c = await Conn.open(srv.port);
    const info = await c.info();
    assert.deepEqual(infoShape(info), [
      ['server_id', 'string'],
      ['server_name', 'string'],
      ['version', 'string'],
      ['proto', '1'],
      ['go', 'string'],
      ['host', 'string'],
      ['port', 'number'],
      ['headers', 'true'],
      ['tls_required', 'true'],
      ['tls_verify', 'true'],
      ['max_payload', '1048576'],
      ['client_id', 'number'],
      ['client_ip', 'string'],
    ]);
    c.close();
  });

  scenario('no handshake within the timeout: closed, nothing more sent', tlsConf, async (srv) => {
    await exchange(srv, '', '', { closes: true });
  });

  scenario('plaintext instead of a ClientHello: closed, nothing more sent', tlsConf, async (srv) => {
    await exchange(srv, 'CONNECT {}\r\n', '', { closes: true });
  });
});
