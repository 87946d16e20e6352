// Start-up cost, as the set of modules a server loads before `Server is ready` (issue 15): a plain
// configuration loads the server core only — no OCSP engine, no ASN.1 libraries, no prom-client,
// no bcryptjs, no nkeys, no monitoring code, no testkit. Features load their code when the
// configuration uses them. This is a set comparison, not a timing (timings: `npm run bench --
// --only startup`, docs/benchmarks.md). A new module in the plain set fails here on purpose: load
// it lazily (dynamic import where it is first used), or add it below if every server needs it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = resolve('.');
const PROBE = resolve('dist/test/startup/module-probe.js');
const EMBED = resolve('dist/test/startup/embed-probe.js');
const BIN = resolve('bin/tsnats');

/** What every server loads (dist/src paths), besides Node builtins. */
// Every server parses every configuration block (the parsers of cluster {}, websocket {},
// jetstream {}, leafnodes {}, ocsp_peer, and the operator-mode keys — which decode an operator JWT as
// nats-server does at parse time — are small and package-free), may check nkeys and has the small JetStream
// port (src/server/internal.ts); the features themselves load on demand. Accounts are core: every
// connection is bound to one (`$G` at least), so the account registry and the accounts {} parser load
// (with the subject transforms its `mappings` checks use).
const CORE = [
  'src/cli.js',
  'src/config/accounts.js',
  'src/config/cluster.js',
  'src/config/errors.js',
  'src/config/flags.js',
  'src/config/index.js',
  'src/config/jetstream.js',
  'src/config/leafnodes.js',
  'src/config/lexer.js',
  'src/config/ocsp-peer.js',
  'src/config/operator.js',
  'src/config/options.js',
  'src/config/parser.js',
  'src/config/websocket.js',
  'src/protocol/encode.js',
  'src/protocol/errors.js',
  'src/protocol/parser.js',
  'src/protocol/subject-transform.js',
  'src/protocol/subjects.js',
  'src/server/accounts/account.js',
  'src/server/accounts/registry.js',
  'src/server/auth.js',
  'src/server/client.js',
  'src/server/connection/core.js',
  'src/server/hooks.js',
  'src/server/info.js',
  'src/server/internal.js',
  'src/server/listen.js',
  'src/server/logger.js',
  'src/server/monitor/errors.js',
  'src/server/monitor/format.js',
  'src/server/monitor/http.js',
  'src/server/nkey-auth.js',
  'src/server/nkey.js',
  'src/server/observability.js',
  'src/server/ocsp-hook.js',
  'src/server/ocsp-peer-hook.js',
  'src/server/ocsp-registry.js',
  'src/server/permissions.js',
  'src/server/ports.js',
  'src/server/reload.js',
  'src/server/server-id.js',
  'src/server/server.js',
  'src/server/shared-read.js',
  'src/server/signals.js',
  'src/server/subjects.js',
  'src/server/tls.js',
];
/** Builtins a plain server must not load (Node's own bootstrap and the probe load many others). */
const NOT_PLAIN = ['node:http', 'node:https', 'node:http2', 'node:zlib'];

interface Loaded {
  own: string[];
  packages: string[];
  builtins: string[];
}

function classify(lines: string[]): Loaded {
  const own = new Set<string>();
  const packages = new Set<string>();
  const builtins = new Set<string>();
  for (const raw of lines) {
    if (raw === '') continue;
    if (raw.startsWith('bundle:')) {
      own.add(raw.slice(7));
      continue;
    }
    if (raw.startsWith('builtin:')) {
      builtins.add(raw.slice(8));
      continue;
    }
    const path = raw.startsWith('cjs:') ? raw.slice(4) : raw.startsWith('file://') ? new URL(raw).pathname : raw;
    if (path.startsWith('node:')) {
      builtins.add(path);
      continue;
    }
    const nm = path.lastIndexOf('/node_modules/');
    if (nm >= 0) {
      const rest = path.slice(nm + '/node_modules/'.length).split('/');
      packages.add(rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!);
      continue;
    }
    const rel = path.startsWith(ROOT + '/dist/') ? path.slice(ROOT.length + 6) : path.slice(ROOT.length + 1);
    if (rel.startsWith('test/') || rel === 'bin/tsnats' || rel.startsWith('tsnats-cli')) continue;
    own.add(rel);
  }
  return { own: [...own].sort(), packages: [...packages].sort(), builtins: [...builtins].sort() };
}

/** Runs `node --import <probe> <args>` until the server is ready; returns what it loaded. */
async function probe(args: string[], dir: string, env: Record<string, string> = {}, ready = true): Promise<Loaded> {
  const log = join(dir, `modules-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  const child = spawn(process.execPath, ['--import', PROBE, ...args], {
    env: { ...process.env, ...env, TSNATS_MODULE_LOG: log },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  if (ready) {
    assert.equal(code, 0, `server did not get ready:\n${err}`);
    assert.match(err, /Server is ready/);
  }
  return classify(existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []);
}

function diff(actual: string[], expected: string[]): string {
  const extra = actual.filter((x) => !expected.includes(x));
  const missing = expected.filter((x) => !actual.includes(x));
  return `loaded but not expected: ${JSON.stringify(extra)}; expected but not loaded: ${JSON.stringify(missing)}`;
}

describe('start-up: modules loaded', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsnats-startup-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const mode of ['modules', 'bundle'] as const) {
    // `bundle`: bin/tsnats runs dist/tsnats-cli.cjs when it is fresh (npm run build), else the
    // modules too; both must instantiate the same set.
    it(`plain configuration (CLI, flags only, ${mode}): the server core, no package, no http`, async () => {
      const m = await probe([BIN, '-a', '127.0.0.1', '-p', '-1'], dir, mode === 'modules' ? { TSNATS_NO_BUNDLE: '1' } : {});
      assert.deepEqual(m.own, CORE, diff(m.own, CORE));
      assert.deepEqual(m.packages, [], 'no npm package is loaded');
      assert.deepEqual(m.builtins.filter((b) => NOT_PLAIN.includes(b)), []);
      assert.ok(m.builtins.includes('node:net'), m.builtins.join(' '));
    });
  }

  it('plain configuration file (authorization with plain passwords, permissions, limits): the same set', async () => {
    const conf = join(dir, 'plain.conf');
    writeFileSync(
      conf,
      `host: 127.0.0.1\nport: -1\nmax_payload: 65536\nserver_tags: ["a"]\n` +
        `authorization { users: [ { user: a, password: b, permissions: { subscribe: { deny: "x.>" } } } ] }\n`,
    );
    const m = await probe([BIN, '-c', conf], dir);
    assert.deepEqual(m.own, CORE, diff(m.own, CORE));
    assert.deepEqual(m.packages, []);
    assert.deepEqual(m.builtins.filter((b) => NOT_PLAIN.includes(b)), []);
  });

  it('embedded: import("tsnats") + startServer() loads no more than the CLI (minus the CLI itself)', async () => {
    const m = await probe([EMBED, JSON.stringify({ host: '127.0.0.1', port: 0 })], dir);
    const expected = [...CORE.filter((f) => f !== 'src/cli.js' && f !== 'src/config/flags.js' && f !== 'src/server/signals.js'), 'src/index.js'].sort();
    // index.js re-exports flags-free config helpers; signals/flags may or may not be reached through them.
    const extra = m.own.filter((f) => !expected.includes(f) && f !== 'src/config/flags.js' && f !== 'src/server/signals.js');
    assert.deepEqual(extra, [], diff(m.own, expected));
    assert.deepEqual(m.packages, []);
    assert.deepEqual(m.builtins.filter((b) => NOT_PLAIN.includes(b)), []);
  });

  it('operator mode: the JWT strategy loads (no npm package, no http); plain configurations never load it', async () => {
    const { encodeOperator } = await import('@nats-io/jwt');
    const { createOperator } = await import('@nats-io/nkeys');
    const conf = join(dir, 'operator.conf');
    writeFileSync(conf, `host: 127.0.0.1\nport: -1\noperator: "${await encodeOperator('OP', createOperator(), {})}"\nresolver: MEMORY\n`);
    const m = await probe([BIN, '-c', conf], dir);
    for (const f of ['src/server/jwt/strategy.js', 'src/server/jwt/claims.js', 'src/server/jwt/resolver.js', 'src/server/jwt/startup.js']) assert.ok(m.own.includes(f), f);
    assert.deepEqual(m.packages, []);
    assert.deepEqual(m.builtins.filter((b) => NOT_PLAIN.includes(b)), []);
    assert.ok(CORE.every((f) => !f.startsWith('src/server/jwt/')));
  });

  it('system account events: loaded only when the system account can have users (accounts with users in it)', async () => {
    const events = ['src/server/events/index.js', 'src/server/events/system.js', 'src/server/events/bus.js', 'src/server/events/requests.js'];
    const plain = join(dir, 'accounts-nosys.conf');
    writeFileSync(plain, `host: 127.0.0.1\nport: -1\naccounts { A { users: [{user: a, password: a}] } }\n`);
    const m1 = await probe([BIN, '-c', plain], dir);
    for (const f of events) assert.ok(!m1.own.includes(f), `${f} loaded without a system account user`);
    const sys = join(dir, 'accounts-sys.conf');
    writeFileSync(sys, `host: 127.0.0.1\nport: -1\naccounts { SYS { users: [{user: s, password: s}] } }\nsystem_account: SYS\n`);
    const m2 = await probe([BIN, '-c', sys], dir);
    for (const f of events) assert.ok(m2.own.includes(f), `${f} not loaded with a system account user`);
    assert.deepEqual(m2.packages, []);
    assert.deepEqual(m2.builtins.filter((b) => NOT_PLAIN.includes(b)), [], 'events load no http');
  });

  it('monitoring: node:http and the listener at start; endpoints, prom-client only when asked', async () => {
    const m = await probe([BIN, '-a', '127.0.0.1', '-p', '-1', '-m', '-1'], dir);
    assert.deepEqual(m.packages, []);
    assert.ok(m.builtins.includes('node:http'), m.builtins.join(' '));
    assert.ok(m.own.includes('src/server/monitor/ocspz.js'));
    for (const lazy of ['src/server/monitor/varz.js', 'src/server/monitor/connz.js', 'src/server/monitor/metrics.js']) assert.ok(!m.own.includes(lazy), lazy);
  });

  it('TLS: the OCSP engine loads only when something can be stapled (Must-Staple in mode auto, always/must, or monitoring)', async () => {
    const { execFileSync } = await import('node:child_process');
    const mk = (name: string, extra: string[]): { cert: string; key: string } => {
      const cert = join(dir, `${name}.pem`);
      const key = join(dir, `${name}-key.pem`);
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', ...extra, '-keyout', key, '-out', cert], { stdio: 'ignore' });
      return { cert, key };
    };
    const plain = mk('plain', []);
    const must = mk('must', ['-addext', 'tlsfeature=status_request']);
    const conf = (name: string, c: { cert: string; key: string }, extra = ''): string => {
      const f = join(dir, `${name}.conf`);
      writeFileSync(f, `host: 127.0.0.1\nport: -1\n${extra}\ntls { cert_file: "${c.cert}", key_file: "${c.key}" }\n`);
      return f;
    };
    const engine = (m: Loaded): boolean => m.own.includes('src/server/ocsp.js') && m.own.includes('src/ocsp/index.js') && m.packages.includes('@peculiar/asn1-ocsp');

    const p1 = await probe([BIN, '-c', conf('tls-plain', plain)], dir);
    assert.equal(engine(p1), false, p1.own.join(' '));
    assert.deepEqual(p1.packages, []);
    // (Self-signed: nothing can staple it, so these refuse to start, as nats-server does; the
    // engine was loaded to find that out.)
    const p2 = await probe([BIN, '-c', conf('tls-must', must)], dir, {}, false);
    assert.equal(engine(p2), true, p2.own.join(' '));
    assert.ok(!p2.packages.includes('prom-client') && !p2.packages.includes('bcryptjs'), p2.packages.join(' '));
    const p3 = await probe([BIN, '-c', conf('tls-always', plain, 'ocsp { mode: always }')], dir, {}, false);
    assert.equal(engine(p3), true);
    const p4 = await probe([BIN, '-c', conf('tls-monitor', plain, 'http_port: -1')], dir);
    assert.equal(engine(p4), true);
  });
});
