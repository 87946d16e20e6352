import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyOverrides, ConfigError, defaultOptions, parseConfigText, parseFlags, tlsUsage, usage } from '../../src/config/index.js';

describe('flags: syntax', () => {
  it('accepts -f v, -f=v, --f v and --f=v', () => {
    for (const argv of [['-p', '4333'], ['-p=4333'], ['--port', '4333'], ['--port=4333'], ['-port', '4333'], ['--p=4333']]) {
      const r = parseFlags(argv);
      assert.deepEqual(r.errors, [], argv.join(' '));
      assert.equal(r.overrides.port, 4333, argv.join(' '));
    }
  });

  it('maps every supported flag and alias', () => {
    const r = parseFlags([
      '-c', 'a.conf', '-a', '127.0.0.1', '-n', 'srv', '-m', '8222', '-ms', '8443', '-P', 'x.pid', '-l', 'x.log',
      '-T=false', '-D', '-V', '--ports_file_dir', '/tmp/ports', '-sd', '/data', '--user', 'u', '--pass', 'p',
      '--tls', '--tlscert', 'c.pem', '--tlskey', 'k.pem', '--tlscacert', 'ca.pem', '--tlsverify', '-t',
    ]);
    assert.deepEqual(r.errors, []);
    assert.equal(r.configFile, 'a.conf');
    assert.equal(r.test, true);
    assert.deepEqual(r.overrides, {
      host: '127.0.0.1',
      serverName: 'srv',
      httpPort: 8222,
      httpsPort: 8443,
      pidFile: 'x.pid',
      logFile: 'x.log',
      logtime: false,
      debug: true,
      trace: true,
      portsFileDir: '/tmp/ports',
      storeDir: '/data',
      authorization: { user: 'u', password: 'p' },
      tls: { enable: true, certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem', verify: true },
    });
    assert.deepEqual(parseFlags(['--addr', 'h1']).overrides.host, 'h1');
    assert.deepEqual(parseFlags(['--net', 'h2']).overrides.host, 'h2');
    assert.deepEqual(parseFlags(['--name', 'n1']).overrides.serverName, 'n1');
    assert.deepEqual(parseFlags(['--server_name', 'n2']).overrides.serverName, 'n2');
    assert.deepEqual(parseFlags(['--config=b.conf']).configFile, 'b.conf');
    assert.deepEqual(parseFlags(['--http_port=1']).overrides.httpPort, 1);
    assert.deepEqual(parseFlags(['--https_port=2']).overrides.httpsPort, 2);
    assert.deepEqual(parseFlags(['--pid', 'p']).overrides.pidFile, 'p');
    assert.deepEqual(parseFlags(['--log', 'l']).overrides.logFile, 'l');
    assert.deepEqual(parseFlags(['--store_dir', 's']).overrides.storeDir, 's');
    assert.deepEqual(parseFlags(['--auth', 'tok']).overrides.authorization, { token: 'tok' });
  });

  it('handles the logging shorthands', () => {
    assert.deepEqual(parseFlags(['-DV']).overrides, { debug: true, trace: true });
    assert.deepEqual(parseFlags(['-VV']).overrides, { trace: true });
    assert.deepEqual(parseFlags(['-DVV']).overrides, { debug: true, trace: true });
    assert.deepEqual(parseFlags(['--debug', '--trace']).overrides, { debug: true, trace: true });
    assert.deepEqual(parseFlags(['-T']).overrides, { logtime: true });
    assert.deepEqual(parseFlags(['--logtime=0']).overrides, { logtime: false });
    assert.deepEqual(parseFlags(['-D=false']).overrides, { debug: false });
  });

  it('bool flags never take the next argument', () => {
    const r = parseFlags(['-D', 'version']);
    assert.equal(r.overrides.debug, true);
    assert.equal(r.version, true);
  });

  it('reads negative and special ports', () => {
    assert.equal(parseFlags(['-p', '-1']).overrides.port, -1);
    assert.equal(parseFlags(['-p', '0']).overrides.port, 4222);
    assert.equal(parseFlags(['-p', '0x10']).overrides.port, 16);
    assert.deepEqual(parseFlags(['-p', '70000']).errors, ['invalid value "70000" for flag -p: port out of range']);
  });

  it('reports errors in Go flag wording', () => {
    assert.deepEqual(parseFlags(['--bogus']).errors, ['flag provided but not defined: -bogus']);
    assert.deepEqual(parseFlags(['-p', 'abc']).errors, ['invalid value "abc" for flag -p: parse error']);
    assert.deepEqual(parseFlags(['-p']).errors, ['flag needs an argument: -p']);
    assert.deepEqual(parseFlags(['-T=maybe']).errors, ['invalid boolean value "maybe" for -T: parse error']);
    assert.deepEqual(parseFlags(['---p', '5']).errors, ['bad flag syntax: ---p']);
    assert.deepEqual(parseFlags(['-c', 'x.conf', 'extra']).errors, ['unrecognized command: "extra"']);
    assert.deepEqual(parseFlags(['-t']).errors, ['must specify [-c, --config] option to check configuration file syntax']);
    assert.deepEqual(parseFlags(['--profile', '6060']).errors, ['flag -profile is not supported by tsnats yet']);
    assert.deepEqual(parseFlags(['-s']).errors, ['flag -s is not supported by tsnats yet']);
  });

  it('recognises version/help flags and commands', () => {
    assert.equal(parseFlags(['-v']).version, true);
    assert.equal(parseFlags(['--version']).version, true);
    assert.equal(parseFlags(['version']).version, true);
    assert.equal(parseFlags(['-h']).help, true);
    assert.equal(parseFlags(['--help']).help, true);
    assert.equal(parseFlags(['help']).help, true);
    assert.equal(parseFlags(['--help_tls']).helpTls, true);
    assert.deepEqual(parseFlags(['--', '-p']).errors, ['unrecognized command: "-p"']);
  });

  it('parses --signal', () => {
    assert.deepEqual(parseFlags(['-sl', 'reload']).signal, { signal: 'reload' });
    assert.deepEqual(parseFlags(['--signal=ldm=1234']).signal, { signal: 'ldm', target: '1234', pid: 1234 });
    assert.deepEqual(parseFlags(['-sl', 'quit=/var/run/tsnats.pid']).signal, {
      signal: 'quit',
      target: '/var/run/tsnats.pid',
      pidFile: '/var/run/tsnats.pid',
    });
    for (const s of ['stop', 'term', 'reopen']) assert.equal(parseFlags(['-sl', s]).signal?.signal, s);
    assert.deepEqual(parseFlags(['-sl', 'foo=1']).errors, ['unknown signal "foo"']);
  });

  it('checks TLS flag combinations', () => {
    assert.deepEqual(parseFlags(['--tls']).errors, ['TLS Server certificate must be present and valid']);
    assert.deepEqual(parseFlags(['--tlsverify', '--tlscert', 'c']).errors, ['TLS Server private key must be present and valid']);
    const r = parseFlags(['--tlscert', 'c', '--tlskey', 'k']);
    assert.deepEqual(r.errors, []);
    assert.match(r.warnings[0]!, /--tlscert, --tlskey ignored/);
  });

  it('warns that -js only keeps the store directory', () => {
    const r = parseFlags(['-js', '-sd', '/d']);
    assert.deepEqual(r.errors, []);
    assert.equal(r.overrides.storeDir, '/d');
    assert.match(r.warnings[0]!, /JetStream is not supported/);
  });
});

describe('flags: override order (defaults < file < flags)', () => {
  const file = parseConfigText(
    `port: 4333
server_name: from_file
debug: true
logtime: true
store_dir: /file
authorization { users: [{user: a, password: b}] }
tls { cert_file: f.pem, key_file: f.key, timeout: 5, handshake_first: true }
`,
    'f.conf',
  ).options;

  it('flags win over the file, the file wins over defaults', () => {
    const { overrides } = parseFlags(['-p', '5555', '-T=false', '-sd', '/flag']);
    const o = applyOverrides(file, overrides);
    assert.equal(o.port, 5555);
    assert.equal(o.logtime, false);
    assert.equal(o.storeDir, '/flag');
    assert.equal(o.serverName, 'from_file'); // not given on the command line
    assert.equal(o.debug, true);
    assert.equal(o.pingIntervalMs, defaultOptions().pingIntervalMs);
    assert.equal(file.port, 4333, 'applyOverrides does not modify its input');
  });

  it('TLS flags replace the certificate settings and keep the rest of the tls block', () => {
    const o = applyOverrides(file, parseFlags(['--tlsverify', '--tlscert', 'c.pem', '--tlskey', 'k.pem', '--tlscacert', 'ca.pem']).overrides);
    assert.deepEqual(o.tls, {
      certFile: 'c.pem',
      keyFile: 'k.pem',
      caFile: 'ca.pem',
      certs: [],
      verify: true,
      verifyAndMap: false,
      timeoutMs: 5000,
      handshakeFirst: true,
    });
    const fresh = applyOverrides(defaultOptions(), parseFlags(['--tls', '--tlscert', 'c.pem', '--tlskey', 'k.pem']).overrides);
    assert.deepEqual(fresh.tls, { certs: [], verify: false, verifyAndMap: false, timeoutMs: 2000, handshakeFirst: false, certFile: 'c.pem', keyFile: 'k.pem' });
  });

  it('auth flags set the single user or token, and conflict with a users array', () => {
    const o = applyOverrides(defaultOptions(), parseFlags(['--user', 'u', '--pass', 'p']).overrides);
    assert.deepEqual(o.authorization, { users: [], user: 'u', password: 'p' });
    assert.deepEqual(applyOverrides(defaultOptions(), parseFlags(['--auth', 't']).overrides).authorization, { users: [], token: 't' });
    assert.throws(
      () => applyOverrides(file, parseFlags(['--user', 'x']).overrides),
      (e: unknown) => e instanceof ConfigError && /Can not have a single user\/pass and a users array/.test(e.message) && e.line === 0,
    );
    assert.throws(() => applyOverrides(defaultOptions(), parseFlags(['--user', 'x', '--auth', 't']).overrides), /Cannot have a user\/pass and token/);
  });
});

describe('flags: usage text', () => {
  it('follows nats-server\'s layout and names tsnats', () => {
    const u = usage();
    assert.match(u, /^\nUsage: tsnats \[options\]\n\nServer Options:\n {4}-a, --addr, --net <host> {9}Bind to host address \(default: 0\.0\.0\.0\)\n/);
    for (const f of ['--port', '--config', '--signal', '--ports_file_dir', '--logtime', '-DVV', '--store_dir', '--user', '--tlscacert', '--help_tls']) {
      assert.ok(u.includes(f), f);
    }
    assert.match(tlsUsage(), /TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256/);
  });
});
