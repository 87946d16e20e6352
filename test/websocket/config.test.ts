// The `websocket {}` block: values, aliases, defaults and nats-server 2.9.10's errors with
// file:line:col (the differential check against `nats-server -t` is in test/config/differential).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/index.js';

function ws(text: string): ReturnType<typeof parseConfigText>['options']['websocket'] {
  return parseConfigText(text, 'ws.conf').options.websocket;
}

function fails(text: string, re: RegExp): void {
  assert.throws(() => parseConfigText(text, 'ws.conf'), (e: Error) => {
    assert.match(e.message, re);
    return true;
  });
}

describe('websocket configuration', () => {
  it('listen, host/port, aliases and defaults', () => {
    assert.deepEqual(ws('websocket { listen: "127.0.0.1:8080", no_tls: true }'), {
      host: '127.0.0.1',
      port: 8080,
      noTls: true,
      sameOrigin: false,
      allowedOrigins: [],
      compression: false,
      handshakeTimeoutMs: 0,
    });
    const w = ws('ws { port: -1, net: "::1", no_tls: true, compress: true, origin: "http://a.com", handshake_timeout: 3 }')!;
    assert.equal(w.host, '::1');
    assert.equal(w.port, -1);
    assert.equal(w.compression, true);
    assert.deepEqual(w.allowedOrigins, ['http://a.com']);
    assert.equal(w.handshakeTimeoutMs, 3000);
    assert.equal(ws('websocket { port: 1, no_tls: true }')!.host, '0.0.0.0');
    assert.equal(ws('websocket { port: 1, no_tls: true, handshake_timeout: "1m30s" }')!.handshakeTimeoutMs, 90_000);
  });

  it('authorization (user, password, token, timeout) and no_auth_user', () => {
    const w = ws('authorization { users: [{user: a, password: b}] }\nwebsocket { port: 1, no_tls: true, no_auth_user: a, authentication { timeout: 2.5 } }')!;
    assert.equal(w.noAuthUser, 'a');
    assert.deepEqual(w.authorization, { timeoutMs: 2500 });
    assert.deepEqual(ws('websocket { port: 1, no_tls: true, authorization { token: t } }')!.authorization, { token: 't' });
  });

  it("nats-server's errors, with positions", () => {
    fails('websocket {\n  port: 8080\n}', /^ws\.conf:1:1: websocket requires TLS configuration$/);
    fails('websocket { port: 1, no_tls: true, authorization { users: [] } }', /^ws\.conf:1:52: unknown field "users"$/);
    fails('websocket { port: 1, no_tls: true, bogus: 1 }', /^ws\.conf:1:36: unknown field "bogus"$/);
    fails('websocket { port: 1, no_tls: true, no_auth_user: x }', /no_auth_user: "x" present, but users are not defined/);
    fails('authorization { users: [{user: a}] }\nwebsocket { port: 1, no_tls: true, no_auth_user: x }', /no_auth_user: "x" not present as user in authorization block or account configuration/);
    fails('authorization { users: [{user: a}] }\nwebsocket { port: 1, no_tls: true, authorization { token: t } }', /websocket authentication token not compatible with presence of users\/nkeys/);
    fails('websocket { port: 1, no_tls: true, jwt_cookie: c }', /trusted operators or trusted keys configuration is required for JWT authentication via cookie "c"/);
    fails('websocket { port: 1, no_tls: true, handshake_timeout: "5x" }', /invalid duration/);
    fails('websocket: 1', /Expected websocket to be a map/);
    fails('websocket { port: 1, tls { cert_file: "a.pem" } }', /missing 'key_file' in TLS configuration/);
  });

  it('a block without a port is accepted and starts nothing (nats-server ignores it)', () => {
    assert.equal(ws('websocket { compression: true }')!.port, 0);
  });

  it('a leafnodes block beside websocket is accepted (docs/leafnodes.md)', () => {
    assert.equal(ws('websocket { port: 8080, no_tls: true }\nleafnodes { port: 7422 }')!.port, 8080);
  });
});
