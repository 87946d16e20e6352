import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  defaultOptions,
  formatGoDuration,
  loadConfigFile,
  parseConfigText,
  parseGoDuration,
  UNSUPPORTED_OPTIONS,
  type LoadedConfig,
} from '../../src/config/index.js';

const load = (text: string, env: Record<string, string> = {}): LoadedConfig => parseConfigText(text, 'o.conf', { env });
const opts = (text: string) => load(text).options;

function fails(text: string, re: RegExp, where?: [number, number]): ConfigError {
  let caught: unknown;
  try {
    load(text);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(text)}, got ${String(caught)}`);
  assert.ok(
    caught.errors.some((e) => re.test(e.reason)),
    `no error matching ${re} in:\n${caught.message}`,
  );
  if (where) {
    const e = caught.errors.find((x) => re.test(x.reason))!;
    assert.deepEqual([e.line, e.column], where, e.headline);
  }
  return caught;
}

describe('options: defaults and simple options', () => {
  it('defaultOptions() are nats-server defaults', () => {
    assert.deepEqual(defaultOptions(), {
      host: '0.0.0.0',
      port: 4222,
      httpBasePath: '',
      maxPayload: 1048576,
      maxConnections: 65536,
      maxControlLine: 4096,
      maxPending: 67108864,
      maxSubscriptions: 0,
      pingIntervalMs: 120000,
      pingMax: 2,
      writeDeadlineMs: 10000,
      allowNonTls: false,
      jetstream: false,
      debug: false,
      trace: false,
      logtime: true,
      logtimeUtc: false,
      noHeaderSupport: false,
      lameDuckDurationMs: 120000,
      lameDuckGracePeriodMs: 10000,
      maxClosedClients: 10000,
    });
    assert.deepEqual(opts(''), defaultOptions());
  });

  it('reads the nats-server test.conf example', () => {
    const o = opts(`
server_name: testing_server
listen: 127.0.0.1:4242
http: 8222
authorization { user: derek, password: porkchop, timeout: 1 }
max_connections: 100
max_pending: 10000000
max_control_line: 2048
max_payload: 65536
ping_interval: "60s"
ping_max: 3
`);
    assert.equal(o.serverName, 'testing_server');
    assert.equal(o.host, '127.0.0.1');
    assert.equal(o.port, 4242);
    assert.equal(o.httpPort, 8222);
    assert.deepEqual(o.authorization, { users: [], user: 'derek', password: 'porkchop', timeoutMs: 1000 });
    assert.equal(o.maxConnections, 100);
    assert.equal(o.maxPending, 10000000);
    assert.equal(o.maxControlLine, 2048);
    assert.equal(o.maxPayload, 65536);
    assert.equal(o.pingIntervalMs, 60000);
    assert.equal(o.pingMax, 3);
  });

  it('reads host/net/port/listen forms', () => {
    assert.equal(opts('net: 10.0.0.1').host, '10.0.0.1');
    assert.equal(opts('host: "::1"').host, '::1');
    assert.equal(opts('port: -1').port, -1);
    assert.equal(opts('port: 0').port, 4222);
    assert.deepEqual([opts('listen: "[::1]:4333"').host, opts('listen: "[::1]:4333"').port], ['::1', 4333]);
    assert.deepEqual([opts('listen: ":4333"').host, opts('listen: ":4333"').port], ['0.0.0.0', 4333]);
    assert.equal(opts('listen: 4333').port, 4333);
    fails('listen: "127.0.0.1"', /^could not parse address string "127\.0\.0\.1"$/, [1, 1]);
    fails('listen: true', /^expected port or host:port, got bool$/);
    fails('port: 70000', /invalid port 70000/);
  });

  it('reads the monitoring options', () => {
    assert.deepEqual([opts('http: 8222').httpPort, opts('http: 8222').httpHost], [8222, undefined]);
    const o = opts('http: 127.0.0.1:8222');
    assert.deepEqual([o.httpHost, o.httpPort], ['127.0.0.1', 8222]);
    assert.equal(opts('http_port: 8223').httpPort, 8223);
    assert.equal(opts('monitor_port: 8224').httpPort, 8224);
    assert.equal(opts('http_port: "localhost:8225"').httpHost, 'localhost');
    assert.equal(opts('https: 8443').httpsPort, 8443);
    assert.equal(opts('https_port: 8444').httpsPort, 8444);
    assert.equal(opts('http_base_path: "/nats"').httpBasePath, '/nats');
    fails('http: 8222\nhttps: 8443\n', /^can't specify both HTTP \(8222\) and HTTPs \(8443\) ports$/, [2, 1]);
  });

  it('reads limits, with nats-server special cases', () => {
    const o = opts('max_payload: 2MB\nmax_pending: 100MB\nmax_subs: 10\nmax_control_line: 1k\nmax_closed_clients: 5');
    assert.deepEqual([o.maxPayload, o.maxPending, o.maxSubscriptions, o.maxControlLine, o.maxClosedClients], [2 * 1024 * 1024, 100 * 1024 * 1024, 10, 1000, 5]);
    assert.equal(opts('max_subscriptions: 7').maxSubscriptions, 7);
    assert.equal(opts('max_connections: 0').maxConnections, -1);
    assert.equal(opts('max_conn: 12').maxConnections, 12);
    assert.equal(opts('max_payload: 0').maxPayload, 1048576);
    fails('max_payload: 2147483648', /^max_payload value is too big$/);
    fails('max_payload: 2mb\nmax_pending: 1mb\n', /^max_payload \(2097152\) cannot be higher than max_pending \(1048576\)$/, [1, 1]);
    fails('max_payload: "1"', /^expected "max_payload" to be an integer, got string "1"$/);
  });

  it('reads logging and misc booleans/strings', () => {
    const o = opts(
      'debug: yes\ntrace: on\nlogtime: false\nlogtime_utc: true\nlog_file: "/tmp/x.log"\npid_file: /tmp/p.pid\nports_file_dir: /tmp\nno_header_support: true\nallow_non_tls: true',
    );
    assert.deepEqual(
      [o.debug, o.trace, o.logtime, o.logtimeUtc, o.logFile, o.pidFile, o.portsFileDir, o.noHeaderSupport, o.allowNonTls],
      [true, true, false, true, '/tmp/x.log', '/tmp/p.pid', '/tmp', true, true],
    );
    assert.equal(opts('logfile: a.log').logFile, 'a.log');
    assert.equal(opts('pidfile: a.pid').pidFile, 'a.pid');
    fails('debug: "yes"', /^expected "debug" to be a boolean, got string "yes"$/);
  });

  it('treats top-level keys case-insensitively, as nats-server', () => {
    const o = opts('PORT: 4333\nMax_Payload: 1kb\nDebug: true\nAuthorization { USER: a, PASSWORD: b }');
    assert.deepEqual([o.port, o.maxPayload, o.debug, o.authorization?.user], [4333, 1024, true, 'a']);
  });

  it('rejects server names with spaces', () => {
    fails('server_name: "a b"', /^server name cannot contain spaces$/);
  });
});

describe('options: durations', () => {
  it('parses Go duration strings, quoted or bare', () => {
    assert.equal(opts('ping_interval: "5s"').pingIntervalMs, 5000);
    assert.equal(opts('ping_interval: 5s').pingIntervalMs, 5000);
    assert.equal(opts('ping_interval: "1h30m"').pingIntervalMs, 90 * 60000);
    assert.equal(opts('write_deadline: "500ms"').writeDeadlineMs, 500);
    assert.equal(opts('write_deadline: "1.5s"').writeDeadlineMs, 1500);
    assert.equal(opts('lame_duck_duration: "45s"').lameDuckDurationMs, 45000);
    assert.equal(opts('lame_duck_grace_period: "3s"').lameDuckGracePeriodMs, 3000);
  });

  it('treats plain numbers as seconds, with nats-server\'s warning', () => {
    const r = load('ping_interval: 5\nwrite_deadline: 2');
    assert.equal(r.options.pingIntervalMs, 5000);
    assert.equal(r.options.writeDeadlineMs, 2000);
    assert.deepEqual(r.warnings, [
      'o.conf:1:1: invalid use of field "ping_interval": ping_interval should be converted to a duration',
      'o.conf:2:1: invalid use of field "write_deadline": write_deadline should be converted to a duration',
    ]);
  });

  it('the gotcha: unquoted 1m is 1,000,000 seconds, not a minute', () => {
    const r = load('ping_interval: 1m');
    assert.equal(r.options.pingIntervalMs, 1_000_000_000);
    assert.equal(r.warnings.length, 1);
    assert.equal(load('ping_interval: "1m"').options.pingIntervalMs, 60000);
  });

  it('reports bad durations with Go\'s messages', () => {
    fails('ping_interval: "5x"', /^error parsing ping_interval: time: unknown unit "x" in duration "5x"$/, [1, 1]);
    fails('write_deadline: "zzz"', /^error parsing write_deadline: time: invalid duration "zzz"$/);
    fails('ping_interval: 1.5', /expected "ping_interval" to be a duration/);
    fails('write_deadline: 1.5s', /^Invalid number '1\.5s' \(quote it if it is a string\)$/); // as nats-server: quote it
    fails('lame_duck_duration: "1s"', /^invalid lame_duck_duration of 1s, minimum is 30 seconds$/);
    fails('lame_duck_grace_period: "-1s"', /^invalid lame_duck_grace_period, needs to be positive$/);
  });

  it('parseGoDuration/formatGoDuration follow Go', () => {
    assert.equal(parseGoDuration('1h2m3.5s'), 3723500);
    assert.equal(parseGoDuration('1.5h'), 5400000);
    assert.equal(parseGoDuration('100us'), 0.1);
    assert.equal(parseGoDuration('-2m'), -120000);
    assert.equal(parseGoDuration('0'), 0);
    assert.throws(() => parseGoDuration('5'), /time: missing unit in duration "5"/);
    assert.throws(() => parseGoDuration(''), /time: invalid duration ""/);
    assert.equal(formatGoDuration(120000), '2m0s');
    assert.equal(formatGoDuration(5400000), '1h30m0s');
    assert.equal(formatGoDuration(1500), '1.5s');
    assert.equal(formatGoDuration(0.25), '250µs');
    assert.equal(formatGoDuration(250), '250ms');
    assert.equal(formatGoDuration(0), '0s');
  });
});

describe('options: authorization', () => {
  it('reads token, user/pass and timeout forms', () => {
    assert.deepEqual(opts('authorization { token: s3cr3t, timeout: 0.5 }').authorization, { users: [], token: 's3cr3t', timeoutMs: 500 });
    assert.deepEqual(opts('authorization { username: a, pass: b, timeout: "3s" }').authorization, { users: [], user: 'a', password: 'b', timeoutMs: 3000 });
  });

  it('reads users with every permission form', () => {
    const a = opts(`
authorization {
  super_user = { publish = "*", subscribe = ">" }
  req_pub_user = {
    publish = ["req.foo", "req.bar"]
    subscribe = "_INBOX.>"
  }
  default_permissions: $req_pub_user
  users = [
    {user: alice, password: foo, permissions: $super_user}
    {user: bob, password: "$2a$11$ooo4gPBbeGmj0Rc5pnU0peSsXo4sVmJwHz3yMkUh7kVXyB5qCmUTu", permissions: {
      publish: { allow: "a.>", deny: ["a.secret", "a.b.*"] }
      sub: { deny: ">" }
      allow_responses: true
    }}
    {user: carol, password: baz, permissions: { pub: x, allow_responses: { max: 5, expires: "1m" } }}
    {user: dave, password: q, permission: { import: "i.*", export: "e.> q1" }}
    {user: erin}
  ]
}`).authorization!;
    assert.deepEqual(a.defaultPermissions, {
      publish: { allow: ['req.foo', 'req.bar'], deny: [] },
      subscribe: { allow: ['_INBOX.>'], deny: [] },
    });
    assert.deepEqual(a.users, [
      { user: 'alice', password: 'foo', permissions: { publish: { allow: ['*'], deny: [] }, subscribe: { allow: ['>'], deny: [] } } },
      {
        user: 'bob',
        password: '$2a$11$ooo4gPBbeGmj0Rc5pnU0peSsXo4sVmJwHz3yMkUh7kVXyB5qCmUTu',
        permissions: {
          publish: { allow: ['a.>'], deny: ['a.secret', 'a.b.*'] },
          subscribe: { allow: [], deny: ['>'] },
          allowResponses: { max: 1, expiresMs: 120000 },
        },
      },
      { user: 'carol', password: 'baz', permissions: { publish: { allow: ['x'], deny: [] }, allowResponses: { max: 5, expiresMs: 60000 } } },
      { user: 'dave', password: 'q', permissions: { publish: { allow: ['i.*'], deny: [] }, subscribe: { allow: ['e.> q1'], deny: [] } } },
      { user: 'erin' },
    ]);
  });

  it('enforces nats-server\'s exclusivity rules', () => {
    fails('authorization { token: abc, user: a, pass: b }', /^Cannot have a user\/pass and token$/, [1, 1]);
    fails('authorization { token: abc, users: [{user: a}] }', /^Can not have a token and a users array$/);
    fails('authorization { user: a, pass: b, users: [{user: c}] }', /^Can not have a single user\/pass and a users array$/);
  });

  it('validates user entries and permissions', () => {
    fails('authorization { users: [{user: a}, {user: a}] }', /^Duplicate user "a" detected$/);
    fails('authorization { users: [{password: b}] }', /^User entry requires a user$/);
    fails('authorization { users: [x] }', /^Expected user entry to be a map\/struct, got x$/);
    fails('authorization { users: {user: a} }', /^Expected users field to be an array/);
    fails('authorization { users: [{user: a, foo: 1}] }', /^unknown field "foo"$/);
    fails('authorization { foo: 1 }', /^unknown field "foo"$/, [1, 17]);
    fails('authorization { users: [{user: a, permissions: {foo: 1}}] }', /^Unknown field "foo" parsing permissions$/);
    fails(
      'authorization { users: [{user: a, permissions: {publish: {allow: a, foo: 1}}}] }',
      /^Unknown field name "foo" parsing subject permissions, only 'allow' or 'deny' are permitted$/,
    );
    fails('authorization { users: [{user: a, permissions: {publish: 5}}] }', /^Expected subject permissions to be a subject, or array of subjects, got int64$/);
    fails('authorization { users: [{user: a, permissions: {publish: "a..b"}}] }', /^subject "a\.\.b" is not a valid subject$/);
    fails('authorization { users: [{user: a, permissions: {subscribe: "a q r"}}] }', /^subject "a q r" is not a valid subject$/);
    fails('authorization { users: [{user: a, permissions: {publish: "a.>.b"}}] }', /not a valid subject/);
    fails('authorization { users: [{user: a, permissions: {allow_responses: 5}}] }', /^error parsing response permissions, expected a boolean or a map$/);
    fails('authorization { users: [{user: a, permissions: {allow_responses: {expires: 5}}}] }', /^error parsing expires, not a duration string$/);
    fails('authorization { users: [{user: a, nkey: UABC}] }', /^Not a valid public nkey for a user$/);
    fails('authorization { nkeys: [] }', /^unknown field "nkeys"$/);
    fails('authorization { user: 5 }', /^expected "user" to be a string, got integer 5$/);
  });

  it('checks no_auth_user against the users', () => {
    assert.equal(opts('no_auth_user: a\nauthorization { users: [{user: a, password: b}] }').noAuthUser, 'a');
    fails('no_auth_user: a\n', /^no_auth_user: "a" present, but users are not defined$/, [1, 1]);
    fails('no_auth_user: x\nauthorization { users: [{user: a}] }', /^no_auth_user: "x" not present as user in authorization block or account configuration$/);
  });
});

describe('options: tls', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(cert, 'not really a cert\n');
  writeFileSync(key, 'not really a key\n');

  it('reads a full tls block', () => {
    const t = opts(`tls {
  cert_file: "${cert}"
  key_file: "${key}"
  ca_file: "${cert}"
  verify: true
  timeout: 3
  handshake_first: true
  min_version: "1.3"
  cipher_suites: [TLS_AES_128_GCM_SHA256, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
  curve_preferences: [X25519, CurveP256]
  pinned_certs: ["A4E3B1B3BD9C1F8D8A0F7DBE9D8A0EBD4D4D8E8F0FF54A3E4B3C9B0FD88A2A11"]
}`).tls;
    assert.deepEqual(t, {
      certFile: cert,
      keyFile: key,
      caFile: cert,
      certs: [],
      verify: true,
      verifyAndMap: false,
      timeoutMs: 3000,
      handshakeFirst: true,
      minVersion: 'TLSv1.3',
      cipherSuites: ['TLS_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
      curvePreferences: ['X25519', 'P-256'],
      pinnedCerts: ['a4e3b1b3bd9c1f8d8a0f7dbe9d8a0ebd4d4d8e8f0ff54a3e4b3c9b0fd88a2a11'],
    });
  });

  it('reads handshake_first forms, timeouts, certs and verify_and_map', () => {
    const base = 'cert_file: c.pem, key_file: k.pem';
    assert.deepEqual(opts(`tls { ${base}, first: auto }`).tls!.handshakeFirst, { fallbackMs: 50 });
    assert.deepEqual(opts(`tls { ${base}, immediate: "300ms" }`).tls!.handshakeFirst, { fallbackMs: 300 });
    assert.equal(opts(`tls { ${base}, handshake_first: false }`).tls!.handshakeFirst, false);
    assert.equal(opts(`tls { ${base}, timeout: 0.5 }`).tls!.timeoutMs, 500);
    assert.equal(opts(`tls { ${base}, timeout: "4s" }`).tls!.timeoutMs, 4000);
    assert.equal(opts(`tls { ${base} }`).tls!.timeoutMs, 2000);
    assert.equal(opts(`tls { ${base}, min_version: 1.2 }`).tls!.minVersion, 'TLSv1.2');
    const m = opts(`tls { ${base}, verify_and_map: true }`).tls!;
    assert.deepEqual([m.verify, m.verifyAndMap], [true, true]);
    assert.deepEqual(opts('tls { certs: [{cert_file: a.pem, key_file: a.key}, {cert_file: b.pem, key_file: b.key}] }').tls!.certs, [
      { certFile: 'a.pem', keyFile: 'a.key' },
      { certFile: 'b.pem', keyFile: 'b.key' },
    ]);
    assert.equal(opts(`TLS { CERT_FILE: c.pem, KEY_FILE: k.pem }`).tls!.certFile, 'c.pem');
  });

  it('rejects incomplete or invalid tls blocks', () => {
    fails('tls { cert_file: c.pem }', /^missing 'key_file' in TLS configuration$/, [1, 1]);
    fails('tls { key_file: k.pem }', /^missing 'cert_file' in TLS configuration$/);
    fails('tls {}', /^missing 'cert_file' in TLS configuration$/);
    fails('tls { cert_file: c, key_file: k, verify: 1 }', /^error parsing tls config, expected 'verify' to be a boolean$/, [1, 34]);
    fails('tls { cert_file: c, key_file: k, cipher_suites: [FOO] }', /^unrecognized cipher FOO$/);
    fails('tls { cert_file: c, key_file: k, curve_preferences: [FOO] }', /^unrecognized curve preference FOO$/);
    fails('tls { cert_file: c, key_file: k, pinned_certs: ["abc"] }', /'pinned_certs' key abc does not look like hex-encoded sha256/);
    fails('tls { cert_file: c, key_file: k, min_version: "1.1" }', /unsupported TLS min_version "1\.1"/);
    fails('tls { cert_file: c, key_file: k, handshake_first: "soon" }', /'handshake_first' should be a boolean, "auto" or a duration/);
    fails('tls { cert_file: c, key_file: k, timeout: "abc" }', /^error parsing tls config, 'timeout' time: invalid duration "abc"$/);
    fails('tls { cert_file: c, key_file: k, foo: 1 }', /^error parsing tls config, unknown field \["foo"\]$/);
    fails('tls { cert_file: c, key_file: k, ocsp_peer: true }', /^OCSP peer verification for client connections requires TLS verify \(mTLS\) to be enabled$/, [1, 34]);
    fails('tls { cert_file: c, key_file: k, verify_cert_and_check_known_urls: true }', /^verify_cert_and_check_known_urls not supported in this context$/);
  });

  it('checks that certificate files exist when asked (loadConfigFile does by default)', () => {
    const good = join(dir, 'good.conf');
    writeFileSync(good, `tls {\n  cert_file: "${cert}"\n  key_file: "${key}"\n}\n`);
    assert.equal(loadConfigFile(good).options.tls!.certFile, cert);
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, `tls {\n  cert_file: "${cert}"\n  key_file: "${join(dir, 'nope.pem')}"\n  ca_file: nope-ca.pem\n}\n`);
    let caught: unknown;
    try {
      loadConfigFile(bad);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof ConfigError);
    assert.deepEqual(
      caught.errors.map((e) => [e.line, e.reason]),
      [
        [3, `error parsing X509 certificate/key pair: open ${join(dir, 'nope.pem')}: no such file or directory`],
        [4, 'open nope-ca.pem: no such file or directory'],
      ],
    );
    assert.equal(loadConfigFile(bad, { checkFiles: false }).options.tls!.caFile, 'nope-ca.pem');
  });
});

describe('options: store_dir and jetstream', () => {
  it('reads store_dir and storedir', () => {
    assert.equal(opts('store_dir: /data').storeDir, '/data');
    assert.equal(opts('storedir: "/data2"').storeDir, '/data2');
  });

  it('reads the jetstream block: store_dir, limits (sizes with suffixes), domain', () => {
    const r = load('jetstream {\n  store_dir: /js\n  max_mem: 1G\n  max_file: 10G\n  domain: hub\n}');
    assert.equal(r.options.storeDir, '/js');
    assert.equal(r.options.jetstream, true);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.options.jetstreamConfig, { maxMemory: 1e9, maxStore: 1e10, domain: 'hub' }); // the lexer's 1G (as nats-server's)
    assert.equal(opts('jetstream { max_memory_store: "512M" }').jetstreamConfig?.maxMemory, 512 * 1024 ** 2);
    assert.equal(opts('jetstream { max_file_store: 1000 }').jetstreamConfig?.maxStore, 1000);
    fails('jetstream { max_file: "10X" }', /sizes defined as strings must end in K, M, G, T/);
    assert.equal(opts('jetstream { limits { max_request_batch: 50 } }').jetstreamConfig?.maxRequestBatch, 50);
    assert.equal(opts('jetstream { store: /a }').storeDir, '/a');
    assert.equal(opts('jetstream { storedir: /b }').storeDir, '/b');
    assert.equal(load('jetstream: enabled').warnings.length, 0);
    assert.equal(load('jetstream: enabled').options.jetstream, true);
    assert.equal(load('jetstream: true').options.jetstream, true);
    const off = load('jetstream: disabled\n');
    assert.deepEqual([off.options.jetstream, off.warnings], [false, []]);
    const offMap = load('jetstream { enabled: false, store_dir: /c }');
    assert.deepEqual([offMap.options.jetstream, offMap.options.storeDir, offMap.warnings], [false, '/c', []]);
    fails('jetstream: 1', /^Expected map, bool or string to define JetStream, got int64$/);
    fails('jetstream: maybe', /^Expected 'enabled' or 'disabled' for string value, got 'maybe'$/);
    fails('jetstream { foo: 1 }', /^unknown field "foo"$/, [1, 13]);
  });

  it('rejects store_dir set both at the top level and in jetstream (either order)', () => {
    fails('store_dir: /a\njetstream { store_dir: /b }\n', /^Duplicate 'store_dir' configuration$/, [2, 13]);
    fails('jetstream { store_dir: /b }\nstore_dir: /a\n', /^Duplicate 'store_dir' configuration$/, [2, 1]);
    fails('jetstream { store: /b }\nstoredir: /a\n', /^Duplicate 'store_dir' configuration$/, [2, 1]);
    assert.equal(opts('store_dir: ""\njetstream { store_dir: /b }').storeDir, '/b');
  });
});

describe('options: ocsp', () => {
  it('absent means undefined (auto)', () => {
    assert.equal(opts('port: 1').ocsp, undefined);
  });

  it('reads the boolean and map forms', () => {
    assert.deepEqual(opts('ocsp: true').ocsp, { mode: 'auto', overrideUrls: [] });
    assert.deepEqual(opts('ocsp: on').ocsp, { mode: 'auto', overrideUrls: [] });
    assert.deepEqual(opts('ocsp: false').ocsp, { mode: 'never', overrideUrls: [] });
    assert.deepEqual(opts('ocsp {}').ocsp, { mode: 'auto', overrideUrls: [] });
    for (const m of ['auto', 'must', 'always', 'never']) {
      assert.deepEqual(opts(`ocsp { mode: ${m.toUpperCase()} }`).ocsp, { mode: m, overrideUrls: [] });
    }
    assert.deepEqual(opts('ocsp { mode: always, url: "http://127.0.0.1:8888" }').ocsp, {
      mode: 'always',
      overrideUrls: ['http://127.0.0.1:8888'],
    });
  });

  it('accepts urls as an ordered failover list (nats-server rejects it)', () => {
    assert.deepEqual(opts('ocsp { mode: must, urls: ["http://a.example/ocsp", "https://b.example"] }').ocsp, {
      mode: 'must',
      overrideUrls: ['http://a.example/ocsp', 'https://b.example'],
    });
  });

  it('rejects bad types and values with their position', () => {
    fails('port: 1\nocsp: "yes"', /^error parsing ocsp config: unsupported type string$/, [2, 1]);
    fails('ocsp: 1', /^error parsing ocsp config: unsupported type int64$/);
    fails('ocsp: [1]', /^error parsing ocsp config: unsupported type \[\]interface \{\}$/);
    fails('ocsp { mode: bogus }', /^error parsing ocsp config: unsupported ocsp mode "bogus"/, [1, 8]);
    fails('ocsp { mode: 1 }', /^error parsing ocsp config: expected 'mode' to be a string, got integer 1$/);
    fails('ocsp { foo: 1 }', /^error parsing ocsp config: unsupported field "foo"$/, [1, 8]);
    fails('ocsp { MODE: always }', /^error parsing ocsp config: unsupported field "MODE"$/);
    fails('ocsp { url: 5 }', /expected a responder URL string, got integer 5/);
    fails('ocsp { urls: "http://a" }', /expected 'urls' to be an array/);
    fails('ocsp {\n  urls: ["http://a", "ftp://b"]\n}', /invalid responder URL "ftp:\/\/b"/, [2, 22]);
  });
});

describe('options: unsupported and unknown options', () => {
  it('rejects every option tsnats does not implement, naming it', () => {
    for (const k of UNSUPPORTED_OPTIONS) {
      fails(`port: 1\n${k} {}\n`, new RegExp(`^"${k}" is not supported by tsnats yet$`), [2, 1]);
    }
    fails('Gateway { port: 7222 }', /^"Gateway" is not supported by tsnats yet$/);
  });

  it('rejects unknown keys as nats-server 2.9.10 does', () => {
    fails('foo: bar', /^unknown field "foo"$/, [1, 1]);
  });

  it('does not report variables that are used elsewhere, and reports unused ones', () => {
    assert.equal(opts('PORT = 4333\nport: $PORT').port, 4333);
    assert.equal(opts('authorization { pw = x, user: a, password: $pw }').authorization!.password, 'x');
    fails('unused = 1\nport: 2', /^unknown field "unused"$/);
  });

  it('reads variables from the environment', () => {
    assert.equal(load('port: $TSNATS_TEST_PORT', { TSNATS_TEST_PORT: '4999' }).options.port, 4999);
  });
});

describe('loadConfigFile', () => {
  it('returns options, warnings and the sha256 digest of the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnats-load-'));
    const file = join(dir, 'server.conf');
    const text = '# tsnats\nport: 4555\nping_interval: 30\nstore_dir: "./data"\n';
    writeFileSync(file, text);
    const r = loadConfigFile(file);
    assert.equal(r.options.port, 4555);
    assert.equal(r.options.configFile, resolve(file));
    assert.equal(r.options.storeDir, './data');
    assert.deepEqual(r.warnings, [`${file}:3:1: invalid use of field "ping_interval": ping_interval should be converted to a duration`]);
    assert.equal(r.digest, 'sha256:' + createHash('sha256').update(text).digest('hex'));
    assert.equal(parseConfigText(text, file).digest, r.digest);
  });
});
