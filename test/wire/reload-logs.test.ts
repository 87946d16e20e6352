// Issue 15, differential: the same scenario against tsnats and nats-server 2.9.10.
// - A reload that tightens permissions removes the now-denied subscriptions, tells the client
//   with `-ERR 'Permissions Violation for Subscription to "<subject>" (sid "<sid>")'` and logs
//   `Removed sub "<subject>" (sid "<sid>") for User "<user>" - not authorized`.
// - A reload that removes a user (or changes its password) disconnects it.
// - Client log lines carry `"v<version>:<lang>:<name>"` after CONNECT.
// - A client that drops during the TLS handshake is logged (`TLS handshake error: EOF`, ...).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigFile } from '../../src/config/index.js';
import { client, Conn, SKIP_NATS_SERVER, sleep, startTarget, type Running, type TargetName } from './harness.js';

const TARGETS: TargetName[] = ['tsnats', 'nats-server'];

async function reload(srv: Running, conf: string): Promise<void> {
  writeFileSync(srv.confFile, conf);
  if (srv.ts) {
    await srv.ts.server.reload(loadConfigFile(srv.confFile).options);
    return;
  }
  const before = (srv.log().match(/Reloaded server configuration/g) ?? []).length;
  process.kill(srv.pid!, 'SIGHUP');
  for (let i = 0; i < 100; i++) {
    if ((srv.log().match(/Reloaded server configuration/g) ?? []).length > before) return;
    await sleep(20);
  }
  throw new Error(`nats-server did not reload:\n${srv.log()}`);
}

/** The config text the harness wrote, with `conf` in place of the original body. */
function withBody(srv: Running, body: string): string {
  const head = srv.name === 'nats-server' ? `ports_file_dir: "${srv.dir}"\n` : '';
  return `host: 127.0.0.1\nport: -1\n${head}${body}\n`;
}

const USERS = (aliceSub: string, withBob = true): string =>
  `authorization { users: [
    { user: alice, password: pw, permissions: { subscribe: ${aliceSub} } }
    ${withBob ? '{ user: bob, password: pw }' : ''}
  ] }`;

describe('reload re-checks permissions and users [differential]', () => {
  for (const name of TARGETS) {
    it(`tightened subscribe permissions remove existing subscriptions [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 15000 }, async () => {
      const srv = await startTarget(name, USERS('{ allow: [">"] }'));
      try {
        const alice = await client(srv.port, '{"verbose":false,"user":"alice","pass":"pw"}');
        alice.send('SUB foo 1\r\nSUB _INBOX.abc 2\r\nSUB bar q 3\r\nSUB baz 4\r\n');
        await alice.roundTrip();
        const pub = await client(srv.port, '{"verbose":false,"user":"bob","pass":"pw"}');
        await pub.roundTrip();

        await reload(srv, withBody(srv, USERS('{ allow: [">"], deny: ["_INBOX.>", "bar"] }')));
        await alice.waitFor((t) => (t.match(/Permissions Violation/g) ?? []).length >= 2, 3000);
        const errs = alice.afterInfo.split('\r\n').filter((l) => l.startsWith('-ERR'));
        assert.deepEqual(errs.sort(), [
          `-ERR 'Permissions Violation for Subscription to "_INBOX.abc" (sid "2")'`,
          `-ERR 'Permissions Violation for Subscription to "bar" (sid "3")'`,
        ]);
        // Still connected; the removed subscriptions get nothing, the others still do.
        pub.send('PUB _INBOX.abc 1\r\nx\r\nPUB bar 1\r\ny\r\nPUB foo 1\r\nz\r\nPUB baz 1\r\nw\r\n');
        await pub.roundTrip();
        await alice.roundTrip();
        assert.equal(alice.closed, false);
        const msgs = alice.text.match(/MSG \S+ \d+ \d+\r\n/g) ?? [];
        assert.deepEqual(msgs, ['MSG foo 1 1\r\n', 'MSG baz 4 1\r\n']);
        const log = srv.log();
        assert.match(log, /\[INF\] Removed sub "_INBOX\.abc" \(sid "2"\) for User "alice" - not authorized/);
        assert.match(log, /\[INF\] Removed sub "bar" \(sid "3"\) for User "alice" - not authorized/);
        // The log line comes after the option lines of the reload.
        assert.ok(log.indexOf('Reloaded: authorization users') < log.indexOf('Removed sub'), log);
        alice.close();
        pub.close();
      } finally {
        await srv.stop();
      }
    });

    it(`a user removed by a reload is closed, a changed password is an authorization violation [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 15000 }, async () => {
      const srv = await startTarget(name, USERS('{ allow: [">"] }'));
      try {
        const bob = await client(srv.port, '{"verbose":false,"user":"bob","pass":"pw"}');
        await bob.roundTrip();
        const alice = await client(srv.port, '{"verbose":false,"user":"alice","pass":"pw"}');
        await alice.roundTrip();
        // bob removed: closed silently (nats-server: "moved to a different account", Client Closed).
        await reload(srv, withBody(srv, USERS('{ allow: [">"] }', false)));
        assert.equal(await bob.waitClosed(3000), true);
        await alice.roundTrip();
        assert.equal(alice.closed, false);
        assert.doesNotMatch(srv.log(), /authentication error - User "bob"/);
        // alice's password changed: authorization violation, logged.
        await reload(srv, withBody(srv, USERS('{ allow: [">"] }', false).replace('password: pw', 'password: other')));
        assert.equal(await alice.waitClosed(3000), true);
        const want = /\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - authentication error - User "alice"/;
        for (let i = 0; i < 100 && !want.test(srv.log()); i++) await sleep(20);
        assert.match(srv.log(), want);
      } finally {
        await srv.stop();
      }
    });
  }
});

/** Client log lines as `LVL message`, with the address and cid normalised. */
function clientLines(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    const m = /\[(INF|DBG|TRC|WRN|ERR)\] 127\.0\.0\.1:\d+ - cid:\d+ - (.*)$/.exec(line);
    if (m) out.push(`${m[1]} ${m[2]}`);
  }
  return out;
}

describe('client log lines [differential]', () => {
  for (const name of TARGETS) {
    it(`"v<version>:<lang>:<name>" in the prefix after CONNECT [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 10000 }, async () => {
      const srv = await startTarget(name, 'debug: true\ntrace: true');
      try {
        const c = await client(srv.port, '{"verbose":false,"version":"3.6.1","lang":"C","name":"app"}');
        c.send('PING\r\n');
        await c.waitText('PONG');
        const c2 = await client(srv.port, '{"verbose":false,"lang":"go"}');
        await c2.roundTrip();
        c.close();
        c2.close();
        await sleep(150);
        const lines = clientLines(srv.log());
        assert.ok(lines.includes('DBG Client connection created'), lines.join('\n'));
        assert.ok(lines.some((l) => l.startsWith('TRC <<- [CONNECT {"verbose":false,"version":"3.6.1"')), lines.join('\n'));
        assert.ok(lines.includes('TRC "v3.6.1:C:app" - <<- [PING]'), lines.join('\n'));
        assert.ok(lines.includes('TRC "v3.6.1:C:app" - ->> [PONG]'), lines.join('\n'));
        assert.ok(lines.includes('DBG "v3.6.1:C:app" - Client connection closed: Client Closed'), lines.join('\n'));
        assert.ok(lines.includes('DBG "go" - Client connection closed: Client Closed'), lines.join('\n'));
      } finally {
        await srv.stop();
      }
    });
  }
});

describe('TLS handshake drops are logged [differential]', () => {
  let dir: string;
  let conf: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsnats-i15-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    conf = `debug: true\ntls { cert_file: "${join(dir, 'cert.pem')}", key_file: "${join(dir, 'key.pem')}" }`;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const drops: Array<{ title: string; send?: Buffer; want: string }> = [
    { title: 'drop after INFO, nothing sent', want: 'TLS handshake error: EOF' },
    { title: 'drop in the middle of a record', send: Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]), want: 'TLS handshake error: unexpected EOF' },
    { title: 'plaintext instead of TLS', send: Buffer.from('CONNECT {}\r\n'), want: 'TLS handshake error: tls: first record does not look like a TLS handshake' },
  ];
  for (const d of drops) {
    for (const name of TARGETS) {
      it(`${d.title} [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 10000 }, async () => {
        const srv = await startTarget(name, conf);
        try {
          const c = await Conn.open(srv.port);
          await c.info();
          if (d.send) c.send(d.send);
          await sleep(150);
          c.close();
          await sleep(200);
          const lines = clientLines(srv.log());
          const i = lines.indexOf(`ERR ${d.want}`);
          assert.ok(i >= 0, lines.join('\n'));
          assert.ok(lines.indexOf('DBG Client connection closed: TLS Handshake Failure', i) > i, lines.join('\n'));
        } finally {
          await srv.stop();
        }
      });
    }
  }
});
