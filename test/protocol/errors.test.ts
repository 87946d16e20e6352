import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../src/protocol/errors.js';

describe('wire errors', () => {
  it('the texts of the -ERR table (anchors 1.13), framed as -ERR \'<text>\'\\r\\n', () => {
    const expected: [E.WireError, string, boolean][] = [
      [E.ERR_UNKNOWN_OP, 'Unknown Protocol Operation', true],
      [E.ERR_AUTH_VIOLATION, 'Authorization Violation', true],
      [E.ERR_AUTH_TIMEOUT, 'Authentication Timeout', true],
      [E.ERR_USER_AUTH_EXPIRED, 'User Authentication Expired', true],
      [E.ERR_USER_AUTH_REVOKED, 'User Authentication Revoked', true],
      [E.ERR_ACCOUNT_AUTH_EXPIRED, 'Account Authentication Expired', true],
      [E.ERR_INVALID_CLIENT_PROTOCOL, 'invalid client protocol', true],
      [E.ERR_NO_RESPONDERS_REQUIRES_HEADERS, 'no responders requires headers support', true],
      [E.ERR_MAX_CONTROL_LINE, 'maximum control line exceeded', true],
      [E.ERR_MAX_PAYLOAD, 'Maximum Payload Violation', true],
      [E.ERR_TLS_REQUIRED, 'Secure Connection - TLS Required', true],
      [E.ERR_STALE_CONNECTION, 'Stale Connection', true],
      [E.ERR_MAX_CONNECTIONS, 'maximum connections exceeded', true],
      [E.ERR_MAX_ACCOUNT_CONNECTIONS, 'maximum account active connections exceeded', true],
      [E.ERR_CONNECTION_THROTTLING, 'Connection throttling is active. Please try again later.', true],
      [E.ERR_ROUTE_PORT, 'attempted to connect to route port', true],
      [E.ERR_LEAF_PORT, 'attempted to connect to leaf node port', true],
      [E.ERR_FAILED_ACCOUNT_REGISTRATION, 'Failed Account Registration', true],
      [E.ERR_INVALID_SUBJECT, 'Invalid Subject', false],
      [E.ERR_INVALID_PUBLISH_SUBJECT, 'Invalid Publish Subject', false],
      [E.ERR_MAX_SUBSCRIPTIONS, 'maximum subscriptions exceeded', false],
    ];
    assert.equal(E.WIRE_ERRORS.length, expected.length);
    for (const [e, text, closes] of expected) {
      assert.equal(e.text, text);
      assert.equal(e.closes, closes, text);
      assert.equal(e.frame.toString('latin1'), `-ERR '${text}'\r\n`);
      assert.ok(E.WIRE_ERRORS.includes(e));
    }
  });

  it('violations map to their -ERR (bad_args closes silently)', () => {
    assert.equal(E.VIOLATION_ERRORS.unknown_op, E.ERR_UNKNOWN_OP);
    assert.equal(E.VIOLATION_ERRORS.max_control_line, E.ERR_MAX_CONTROL_LINE);
    assert.equal(E.VIOLATION_ERRORS.max_payload, E.ERR_MAX_PAYLOAD);
    assert.equal(E.VIOLATION_ERRORS.auth_violation, E.ERR_AUTH_VIOLATION);
    assert.equal(E.VIOLATION_ERRORS.bad_args, null);
  });

  it('permission violations, quoted like Go %q (exact bytes seen from nats-server 2.9.10)', () => {
    const s = (b: Buffer) => b.toString('latin1');
    assert.equal(s(E.errPermPublish('secret.a')), `-ERR 'Permissions Violation for Publish to "secret.a"'\r\n`);
    assert.equal(s(E.errPermPublish('secret.a"b')), `-ERR 'Permissions Violation for Publish to "secret.a\\"b"'\r\n`);
    assert.equal(s(E.errPermPublish('secret.\x01\xff\xc3\xa9')), `-ERR 'Permissions Violation for Publish to "secret.\\x01\\xff\xc3\xa9"'\r\n`);
    assert.equal(s(E.errPermSubscribe('secret.x')), `-ERR 'Permissions Violation for Subscription to "secret.x"'\r\n`);
    assert.equal(
      s(E.errPermSubscribe('secret.x', 'q"1')),
      `-ERR 'Permissions Violation for Subscription to "secret.x" using queue "q\\"1"'\r\n`,
    );
    assert.equal(s(E.errPermSubscribe('secret.\\\x01')), `-ERR 'Permissions Violation for Subscription to "secret.\\\\\\x01"'\r\n`);
    assert.equal(
      s(E.errPermSubscribeTooManyTokens('a.b.c.d')),
      `-ERR 'Permissions Violation for Subscription to "a.b.c.d", too many tokens'\r\n`,
    );
    assert.equal(s(E.errPermPublishReply('_INBOX.x')), `-ERR 'Permissions Violation for Publish with Reply of "_INBOX.x"'\r\n`);
  });

  it('goQuote follows strconv.Quote', () => {
    const u = (s: string) => Buffer.from(s, 'utf8').toString('latin1'); // to the latin1 domain
    assert.equal(E.goQuote(''), '""');
    assert.equal(E.goQuote('a b'), '"a b"');
    assert.equal(E.goQuote('\x07\b\f\n\r\t\v\x00\x7f'), '"\\a\\b\\f\\n\\r\\t\\v\\x00\\x7f"');
    assert.equal(E.goQuote(u('é😀')), '"' + u('é😀') + '"');
    assert.equal(E.goQuote(u('\u00a0')), '"\\u00a0"');
    assert.equal(E.goQuote(u('\u200b')), '"\\u200b"');
    assert.equal(E.goQuote(u('\u{e0001}')), '"\\U000e0001"');
    assert.equal(E.goQuote('\xc3'), '"\\xc3"', 'truncated sequence');
    assert.equal(E.goQuote('\xc0\x80'), '"\\xc0\\x80"', 'overlong');
    assert.equal(E.goQuote('\xed\xa0\x80'), '"\\xed\\xa0\\x80"', 'surrogate');
  });

  it('no other source file spells an -ERR text', () => {
    const root = new URL('../../../src/', import.meta.url).pathname;
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(root);
    const offenders: string[] = [];
    for (const f of files) {
      if (f.endsWith(join('protocol', 'errors.ts'))) continue;
      const src = readFileSync(f, 'utf8');
      if (/-ERR '/.test(src)) offenders.push(`${f}: -ERR '`);
      for (const e of E.WIRE_ERRORS) {
        for (const q of [`'${e.text}'`, `"${e.text}"`, `\`${e.text}\``]) if (src.includes(q)) offenders.push(`${f}: ${q}`);
      }
      if (src.includes('Permissions Violation for')) offenders.push(`${f}: Permissions Violation for`);
    }
    assert.deepEqual(offenders, []);
  });
});
