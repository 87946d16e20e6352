import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/index.js';

const opts = (text: string) => parseConfigText(text, 'o.conf', { env: {} }).options;

function fails(text: string, re: RegExp, where?: [number, number]): void {
  let caught: unknown;
  try {
    opts(text);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(text)}`);
  const e = caught.errors.find((x) => re.test(x.reason));
  assert.ok(e, `no error matching ${re} in:\n${caught.message}`);
  if (where) assert.deepEqual([e.line, e.column], where, e.headline);
}

describe('leafnodes config', () => {
  it('parses the listener, authorization, advertise and reconnect', () => {
    const o = opts(`leafnodes {
      listen: "127.0.0.1:7433"
      authorization { user: a, password: b, timeout: 3 }
      advertise: "10.0.0.1:7433"
      no_advertise: true
      reconnect: 5
    }`).leafnodes!;
    assert.equal(o.host, '127.0.0.1');
    assert.equal(o.port, 7433);
    assert.equal(o.user, 'a');
    assert.equal(o.password, 'b');
    assert.equal(o.authTimeoutMs, 3000);
    assert.equal(o.advertise, '10.0.0.1:7433');
    assert.equal(o.noAdvertise, true);
    assert.equal(o.reconnectMs, 5000);
    assert.deepEqual(o.remotes, []);
    // The official JS client's launcher writes an empty block with a port.
    assert.equal(opts('leafnodes { port: -1 }').leafnodes!.port, -1);
    assert.equal(opts('leafnodes {}').leafnodes!.port, 0);
  });

  it('parses remotes', () => {
    const o = opts(`leafnodes {
      remotes: [
        { url: "nats-leaf://u:p@127.0.0.1:7422", deny_imports: "foo.>", deny_exports: ["bar", "baz"] }
        { urls: ["nats://h1", "h2:5000"], hub: true }
      ]
    }`).leafnodes!;
    assert.equal(o.remotes.length, 2);
    assert.deepEqual(o.remotes[0]!.urls, ['nats-leaf://u:p@127.0.0.1:7422']);
    assert.deepEqual(o.remotes[0]!.denyImports, ['foo.>']);
    assert.deepEqual(o.remotes[0]!.denyExports, ['bar', 'baz']);
    assert.deepEqual(o.remotes[1]!.urls, ['nats://h1:7422', 'nats-leaf://h2:5000']);
    assert.equal(o.remotes[1]!.hub, true);
  });

  it('reports errors with their position', () => {
    fails('leafnodes {\n  foo: 1\n}', /^unknown field "foo"$/, [2, 3]);
    fails('leafnodes {\n  authorization { user: a, password: b, users: [ {user: c, password: d} ] }\n}', /can not have a single user\/pass and a users array/);
    // `credentials` (a .creds file, operator-mode hubs) is supported: test/jwt/leaf-creds.test.ts.
    assert.equal(opts('leafnodes {\n  remotes: [ { url: "nats://h", credentials: "/x.creds" } ]\n}').leafnodes!.remotes[0]!.credentials, '/x.creds');
    fails('leafnodes {\n  remotes: [ { url: "nats://h", credentials: 5 } ]\n}', /credentials/, [2, 33]);
    fails('leafnodes { remotes: [ { hub: true } ] }', /needs at least one "url"/);
    fails('leafnodes { remotes: [ { urls: ["ws://a", "nats://b"] } ] }', /mix of websocket and non-websocket urls/);
    assert.deepEqual(opts('leafnodes { remotes: [ { url: "ws://a:8080" } ] }').leafnodes!.remotes[0]!.urls, ['ws://a:8080/']);
    fails('leafnodes: 5', /Expected map to define a leafnode/);
    fails('leafnodes { min_version: "2.7.9" }', /^the minimum version should be at least 2\.8\.0$/);
    fails('leafnodes { min_version: "abc" }', /^invalid leafnode's minimum version: invalid semver$/);
    assert.equal(opts('leafnodes { min_version: "2.9.11" }').leafnodes!.minVersion, '2.9.11');
    // Accounts exist now (issue 14): an unknown one is nats-server's validateLeafNode error.
    fails('leafnodes { remotes: [ { url: "nats://h", account: "A" } ] }', /^cannot find local account "A" specified in leafnode remote$/);
  });
});
