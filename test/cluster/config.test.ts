// `cluster {}` and the cluster flags: values, errors with file:line:col, flags over the file.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/index.js';
import { applyOverrides, parseFlags } from '../../src/config/flags.js';
import { defaultOptions } from '../../src/config/options.js';

function errs(text: string): ConfigError[] {
  try {
    parseConfigText(text, 'c.conf');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return [...e.errors];
  }
  assert.fail(`expected an error for ${text}`);
}

describe('cluster {} block', () => {
  it('reads every 2.9.10 key (and pool_size, with a warning)', () => {
    const r = parseConfigText(
      `cluster {
  name: C1
  listen: 127.0.0.1:6222
  routes: ["nats-route://u:p@127.0.0.1:6223", nats://127.0.0.1:6224, "nats-route://u:p@127.0.0.1:6223"]
  authorization { user: ruser, password: rpass, timeout: 0.5 }
  advertise: "10.0.0.1:6222"
  no_advertise: true
  connect_retries: 3
  pool_size: 3
}`,
      'c.conf',
    );
    const c = r.options.cluster!;
    assert.equal(c.name, 'C1');
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 6222);
    assert.deepEqual(c.routes, ['nats-route://u:p@127.0.0.1:6223', 'nats://127.0.0.1:6224']);
    assert.equal(c.user, 'ruser');
    assert.equal(c.password, 'rpass');
    assert.equal(c.authTimeoutMs, 500);
    assert.equal(c.advertise, '10.0.0.1:6222');
    assert.equal(c.noAdvertise, true);
    assert.equal(c.connectRetries, 3);
    assert.ok(r.warnings.some((w) => /^c\.conf:4:\d+: Duplicate route entry detected$/.test(w)), r.warnings.join('\n'));
    assert.ok(r.warnings.some((w) => /pool_size/.test(w)));
  });

  it('host/port and net forms', () => {
    const c = parseConfigText('cluster { host: 127.0.0.2, port: -1 }').options.cluster!;
    assert.equal(c.host, '127.0.0.2');
    assert.equal(c.port, -1);
  });

  it('errors carry file:line:col', () => {
    const cases: Array<[string, RegExp, number]> = [
      ['cluster {\n  port: 6222\n  foo: 1\n}', /^unknown field "foo"$/, 3],
      ['cluster {\n  port: "x"\n}', /expected "port" to be an integer/, 2],
      ['cluster {\n  authorization { users: [{user: a, password: b}] }\n}', /^Cluster authorization does not allow multiple users$/, 2],
      ['cluster {\n  authorization { token: abc }\n}', /^Cluster authorization does not support tokens$/, 2],
      ['cluster {\n  routes: ["nats-route://:bad"]\n}', /^error parsing route url/, 2],
      ['cluster {\n  name: "a b"\n}', /cannot contain spaces/, 2],
      ['cluster: 5', /Expected map to define cluster/, 1],
    ];
    for (const [text, re, line] of cases) {
      const e = errs(text);
      assert.ok(
        e.some((x) => re.test(x.reason) && x.line === line && x.file === 'c.conf'),
        `${text}: ${e.map((x) => x.message).join(' | ')}`,
      );
    }
  });
});

describe('cluster flags', () => {
  it('--cluster, --cluster_name, --routes, --no_advertise, --cluster_advertise, --connect_retries', () => {
    const f = parseFlags([
      '--cluster',
      'nats://ru:rp@127.0.0.1:-1',
      '--cluster_name',
      'CF',
      '--routes',
      'nats-route://127.0.0.1:7001, nats-route://127.0.0.1:7002',
      '--no_advertise',
      '--cluster_advertise',
      'example.com:7000',
      '--connect_retries',
      '5',
    ]);
    assert.deepEqual(f.errors, []);
    const o = applyOverrides(defaultOptions(), f.overrides);
    const c = o.cluster!;
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, -1);
    assert.equal(c.user, 'ru');
    assert.equal(c.password, 'rp');
    assert.equal(c.name, 'CF');
    assert.deepEqual(c.routes, ['nats-route://127.0.0.1:7001', 'nats-route://127.0.0.1:7002']);
    assert.equal(c.noAdvertise, true);
    assert.equal(c.advertise, 'example.com:7000');
    assert.equal(c.connectRetries, 5);
  });

  it('flags override the file', () => {
    const base = parseConfigText('cluster { name: FILE, port: 6222, routes: ["nats-route://127.0.0.1:1"] }').options;
    const o = applyOverrides(base, parseFlags(['--cluster_name', 'FLAG']).overrides);
    assert.equal(o.cluster!.name, 'FLAG');
    assert.equal(o.cluster!.port, 6222);
    assert.deepEqual(o.cluster!.routes, ['nats-route://127.0.0.1:1']);
  });

  it('a bad cluster URL is an error', () => {
    assert.throws(() => applyOverrides(defaultOptions(), parseFlags(['--cluster', 'nats://127.0.0.1']).overrides), /missing port/);
  });
});
