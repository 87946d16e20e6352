// Unit tests: log format, Go renderings, permissions, authentication, reload rules, INFO template.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { defaultOptions } from '../../src/config/index.js';
import type { ServerOptions } from '../../src/config/types.js';
import { Authenticator, safeEqual } from '../../src/server/auth.js';
import { baseInfo, InfoTemplate } from '../../src/server/info.js';
import { formatLogTime, Logger } from '../../src/server/logger.js';
import { goDuration, goUptime, rfc3339 } from '../../src/server/monitor/format.js';
import { CompiledPermissions, ResponsePermits } from '../../src/server/permissions.js';
import { diffOptions } from '../../src/server/reload.js';

function opts(extra: Partial<ServerOptions>): ServerOptions {
  return { ...defaultOptions(), ...extra };
}

describe('logger', () => {
  it('nats-server line format with and without time', () => {
    const lines: string[] = [];
    const l = new Logger({ write: (s) => void lines.push(s), debug: true, trace: false });
    l.notice('hello');
    l.warn('w');
    l.error('e');
    l.fatal('f');
    l.debug('d');
    l.trace('t');
    assert.equal(lines.length, 5);
    assert.match(lines[0]!, new RegExp(`^\\[${process.pid}\\] \\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6} \\[INF\\] hello\\n$`));
    assert.deepEqual(
      // Skip the `[pid]` prefix first: a three-digit pid would otherwise look like a level tag.
      lines.map((x) => x.replace(/^\[\d+\] [\d/]+ [\d:.]+ \[(\w{3})\] /, '$1 ')),
      ['INF hello\n', 'WRN w\n', 'ERR e\n', 'FTL f\n', 'DBG d\n'],
    );
    const plain: string[] = [];
    const l2 = new Logger({ write: (s) => void plain.push(s), logtime: false });
    l2.notice('x');
    assert.equal(plain[0], `[${process.pid}] [INF] x\n`);
  });

  it('coloured labels as nats-server on a terminal', () => {
    const lines: string[] = [];
    const l = new Logger({ write: (s) => void lines.push(s), logtime: false, colors: true });
    l.notice('x');
    l.warn('y');
    assert.equal(lines[0], `[${process.pid}] [\x1b[32mINF\x1b[0m] x\n`);
    assert.equal(lines[1], `[${process.pid}] [\x1b[0;93mWRN\x1b[0m] y\n`);
  });

  it('time rendering with microseconds, UTC', () => {
    const ms = Date.UTC(2026, 10, 29, 10, 2, 43, 123) + 0.456;
    assert.equal(formatLogTime(ms, true), '2026/11/29 10:02:43.123456');
  });

  it('update keeps the destination (reload)', () => {
    const lines: string[] = [];
    const l = new Logger({ write: (s) => void lines.push(s) });
    l.update({ debug: true });
    l.debug('now visible');
    assert.equal(lines.length, 1);
  });
});

describe('Go renderings', () => {
  it('durations', () => {
    assert.equal(goDuration(0), '0s');
    assert.equal(goDuration(500), '500ns');
    assert.equal(goDuration(95_000), '95µs');
    assert.equal(goDuration(1_120_067), '1.120067ms');
    assert.equal(goDuration(1e9), '1s');
    assert.equal(goDuration(1.5e9), '1.5s');
    assert.equal(goDuration(120e9), '2m0s');
    assert.equal(goDuration(3723e9), '1h2m3s');
  });

  it('uptime', () => {
    assert.equal(goUptime(999), '0s');
    assert.equal(goUptime(61_000), '1m1s');
    assert.equal(goUptime(3_661_000), '1h1m1s');
    assert.equal(goUptime(90_061_000), '1d1h1m1s');
    assert.equal(goUptime(366 * 86_400_000), '1y1d0h0m0s');
  });

  it('RFC 3339 with trimmed fraction', () => {
    assert.equal(rfc3339(Date.UTC(2026, 0, 2, 3, 4, 5, 600)), '2026-01-02T03:04:05.6Z');
    assert.equal(rfc3339(Date.UTC(2026, 0, 2, 3, 4, 5)), '2026-01-02T03:04:05Z');
    assert.equal(rfc3339(Date.UTC(2026, 0, 2, 3, 4, 5, 1) + 0.002), '2026-01-02T03:04:05.001002Z');
  });
});

describe('permissions', () => {
  it('publish: allow list, deny wins, wildcards', () => {
    const p = CompiledPermissions.from({ publish: { allow: ['foo.>', 'bar'], deny: ['foo.secret'] } })!;
    assert.equal(p.publish!.allowed('foo.a.b'), true);
    assert.equal(p.publish!.allowed('bar'), true);
    assert.equal(p.publish!.allowed('baz'), false);
    assert.equal(p.publish!.allowed('foo.secret'), false);
    const d = CompiledPermissions.from({ publish: { allow: [], deny: ['x.*'] } })!;
    assert.equal(d.publish!.allowed('x.y'), false);
    assert.equal(d.publish!.allowed('y'), true);
  });

  it('subscribe: wildcard-aware allow, deny, queue-specific entries, delivery filter', () => {
    const p = CompiledPermissions.from({ subscribe: { allow: ['foo.>', 'q v1', 'r.*'], deny: ['foo.private.>', 'foo.bar'] } })!;
    const s = p.subscribe!;
    assert.equal(s.allowed('foo.*'), true, 'foo.* is covered by foo.>');
    assert.equal(s.allowed('r.>'), false, 'r.> is wider than r.*');
    assert.equal(s.allowed('foo.private.x'), false);
    assert.equal(s.allowed('q'), false, 'plain sub on a queue-only entry');
    assert.equal(s.allowed('q', 'v1'), true);
    assert.equal(s.allowed('q', 'v2'), false);
    assert.equal(s.needsDeliveryFilter('foo.*'), true);
    assert.equal(s.deliverable('foo.bar'), false);
    assert.equal(s.deliverable('foo.baz'), true);
    assert.equal(s.needsDeliveryFilter('foo.x'), false);
  });

  it('allow_responses: reply subjects become publishable max times', () => {
    const p = CompiledPermissions.from({ allowResponses: { max: 2, expiresMs: 1000 } })!;
    assert.equal(p.publish!.allowed('anything'), false, 'only replies when nothing else is allowed');
    const r = new ResponsePermits(2, 1000);
    r.grant('_INBOX.1', 0);
    assert.equal(r.use('_INBOX.1', 10), true);
    assert.equal(r.use('_INBOX.1', 10), true);
    assert.equal(r.use('_INBOX.1', 10), false);
    r.grant('_INBOX.2', 0);
    assert.equal(r.use('_INBOX.2', 5000), false, 'expired');
  });
});

describe('authentication', () => {
  it('constant-time comparison', () => {
    assert.equal(safeEqual('abc', 'abc'), true);
    assert.equal(safeEqual('abc', 'abd'), false);
    assert.equal(safeEqual('abc', 'abcd'), false);
  });

  it('token, single user, users list, bcrypt, no_auth_user', async () => {
    const tok = new Authenticator(opts({ authorization: { token: 't', users: [] } }));
    assert.equal(tok.required, true);
    assert.deepEqual(await tok.authenticate({ auth_token: 't' }), { ok: true, permissions: null });
    assert.deepEqual(await tok.authenticate({ auth_token: 'x' }), { ok: false, log: 'authentication error' });

    const single = new Authenticator(opts({ authorization: { user: 'u', password: 'p', users: [] } }));
    assert.equal((await single.authenticate({ user: 'u', pass: 'p' })).ok, true);
    assert.equal((await single.authenticate({ user: 'u', pass: 'q' })).ok, false);

    const hash = bcrypt.hashSync('pw', 4);
    const users = new Authenticator(
      opts({
        authorization: { users: [{ user: 'a', password: hash }, { user: 'anon', password: 'x', permissions: { publish: { allow: ['p'], deny: [] } } }] },
        noAuthUser: 'anon',
      }),
    );
    assert.equal(users.required, false, 'no_auth_user turns auth_required off');
    const r = users.authenticate({ user: 'a', pass: 'pw' });
    assert.ok(r instanceof Promise, 'bcrypt is checked asynchronously');
    assert.equal((await r).ok, true);
    assert.deepEqual(await users.authenticate({ user: 'a', pass: 'bad' }), { ok: false, log: 'authentication error - User "a"' });
    const anon = await users.authenticate({});
    assert.equal(anon.ok && anon.user, 'anon');
    assert.equal(users.hasPlaintextPasswords, true);
  });

  it('auth timeout defaults: 2 s, TLS timeout + 1 s with TLS', () => {
    assert.equal(new Authenticator(opts({})).timeoutMs, 2000);
    const tls = { certs: [], verify: false, verifyAndMap: false, timeoutMs: 1500, handshakeFirst: false as const };
    assert.equal(new Authenticator(opts({ tls })).timeoutMs, 2500);
  });
});

describe('reload rules', () => {
  it('lists changes in nats-server order and wording', () => {
    const a = opts({ authorization: { users: [{ user: 'a', password: 'b' }] } });
    const b = opts({ debug: true, maxPayload: 2000, authorization: { users: [{ user: 'a', password: 'c' }] } });
    const d = diffOptions(a, b);
    assert.equal(d.refused, undefined);
    assert.deepEqual(
      d.changes.map((c) => c.text),
      ['debug = true', 'authorization users', 'accounts', 'max_payload = 2000'],
    );
  });

  it('refuses what cannot change', () => {
    assert.equal(diffOptions(opts({ host: '127.0.0.1' }), opts({ host: '127.0.0.2' })).refused, 'config reload not supported for Host: old=127.0.0.1, new=127.0.0.2');
    assert.equal(
      diffOptions(opts({}), opts({ lameDuckDurationMs: 30_000 })).refused,
      'config reload not supported for LameDuckDuration: old=2m0s, new=30s',
    );
  });
});

describe('INFO template', () => {
  it('field order and omitempty flags', () => {
    const t = new InfoTemplate(
      baseInfo({ serverId: 'NID', serverName: 'n', host: 'h', port: 1, headers: true, authRequired: true, tlsRequired: false, tlsVerify: false, tlsAvailable: true, maxPayload: 9 }),
    );
    const f = t.frame(7, '10.0.0.1', true).toString();
    assert.ok(f.startsWith('INFO {"server_id":"NID","server_name":"n","version":'));
    assert.ok(f.endsWith('"headers":true,"auth_required":true,"tls_available":true,"max_payload":9,"client_id":7,"client_ip":"10.0.0.1","ldm":true} \r\n'));
  });
});
