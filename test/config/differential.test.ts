// Differential test: the real nats-server (`nats-server -t -c <file>`) and tsnats
// must accept and reject the same configuration files, except where tsnats
// knowingly differs (each such case says why). Skipped when nats-server is absent.
//
// nats-server's `-t` also fails on warnings (e.g. a plain number for a duration),
// so the tsnats side "accepts" a file when loadConfigFile neither throws nor warns
// (the JetStream warning aside, which is tsnats' own).

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError, loadConfigFile } from '../../src/config/index.js';

function findNatsServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    const p = join(d, 'nats-server');
    if (d && existsSync(p)) return p;
  }
  return undefined;
}

const NATS = findNatsServer();
// A throwaway self-signed P-256 certificate (CN=localhost, valid until 2126): nats-server -t
// loads the certificate/key pair, so the TLS cases need a real one.
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUdSPX2i9Es1WFT3226f9CSEKT1oQwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyOTEwMTgyOFoYDzIxMjYxMTA1
MTAxODI4WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ3VoA+bE2aLV9kRoR/aeXkSZqgI4xtTTw2so7S2rzXnAoyahMWpEC4
fEgFD6bj3HKRzrduc70E5+a6TpxuQgmDo1MwUTAdBgNVHQ4EFgQUFPvzVPok1iys
imF1FwOqfhMDE9MwHwYDVR0jBBgwFoAUFPvzVPok1iysimF1FwOqfhMDE9MwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBjUlKOOWl2sNwxB3ls32fC
RAkONVgGsnRjXAkTog57EgIhAK+LDPmElf750M+SXkf7QtL97YhUyzZl/APwOPqg
dKTC
-----END CERTIFICATE-----
`;
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7NQ8grkE0nkji3iK
VKRGm6uzSdjoS/D78U/7LCjXV+mhRANCAAQ3VoA+bE2aLV9kRoR/aeXkSZqgI4xt
TTw2so7S2rzXnAoyahMWpEC4fEgFD6bj3HKRzrduc70E5+a6TpxuQgmD
-----END PRIVATE KEY-----
`;
const BCRYPT = '$2a$11$ooo4gPBbeGmj0Rc5pnU0peSsXo4sVmJwHz3yMkUh7kVXyB5qCmUTu';

interface Case {
  name: string;
  /** Main file text; `@CERT@`/`@KEY@` are replaced by real PEM paths. */
  conf: string;
  /** Extra files, relative to the case directory. */
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** Absent: both must agree. Present: the knowingly different tsnats outcome. */
  differs?: { tsnats: 'accept' | 'reject'; why: string };
  /**
   * nats-server's reason text (after `file:line:col: `) must be one of tsnats'
   * reasons, on the same line ('reason' alone: nats-server's position is not
   * deterministic, because it walks the options in Go map order).
   */
  sameMessage?: boolean | 'reason';
}

const CASES: Case[] = [
  // ---- accepted by both
  {
    name: 'nats-server test.conf example',
    conf: `server_name: testing_server
listen: 127.0.0.1:4242
http: 8222
authorization { user: derek, password: porkchop, timeout: 1 }
max_connections: 100
max_pending: 10000000
max_control_line: 2048
max_payload: 65536
ping_interval: "60s"
ping_max: 3
`,
  },
  { name: 'JSON file', conf: '{\n  "port": 4222,\n  "debug": true,\n  "authorization": {"users": [{"user": "a", "password": "b"}]}\n}\n' },
  {
    name: 'syntax forms',
    conf: `# comment
// comment
port = 4222; debug: true
trace false
authorization
{
  token: (
s3cr3t-token
)
}
"logtime": on
max_payload: 1MB
max_pending: 64MB
max_control_line: 4kb
`,
  },
  {
    name: 'variables, scopes and environment',
    conf: `PORT_VAR = 4333
port: $PORT_VAR
authorization {
  USR = bob
  user: $USR
  password: $PW_FROM_ENV
}
server_name: $NAME_FROM_ENV
`,
    env: { PW_FROM_ENV: '"p@ss"', NAME_FROM_ENV: 'srv1' },
  },
  {
    name: 'includes, nested and inside a block',
    conf: 'port: 4222\ninclude inc/auth.conf\n',
    files: { 'inc/auth.conf': 'authorization {\n  include "sub/users.conf"\n}\n', 'inc/sub/users.conf': 'user: derek\npassword: porkchop\n' },
  },
  {
    name: 'users and permissions',
    conf: `authorization {
  ADMIN = { publish = ">", subscribe = ">" }
  default_permissions = { publish = "public.>" }
  users = [
    { user: admin, password: "${BCRYPT}", permissions: $ADMIN }
    { user: svc, password: x, permissions: { publish: { allow: ["req.*"], deny: "req.secret" }, subscribe: "_INBOX.>", allow_responses: true } }
    { user: other, password: y, permissions: { pub: "a", sub: ["b", "c q"], allow_responses: { max: 3, expires: "5s" } } }
  ]
}
no_auth_user: other
`,
  },
  { name: 'ocsp true', conf: 'ocsp: true\n' },
  { name: 'ocsp false', conf: 'ocsp: false\n' },
  { name: 'ocsp map with url', conf: 'ocsp {\n  mode: ALWAYS\n  url: "http://127.0.0.1:8888"\n}\n' },
  {
    name: 'tls block',
    conf: `tls {
  cert_file: "@CERT@"
  key_file: "@KEY@"
  ca_file: "@CERT@"
  verify: true
  timeout: 3
  cipher_suites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"]
  curve_preferences: [CurveP256, X25519]
  pinned_certs: ["a4e3b1b3bd9c1f8d8a0f7dbe9d8a0ebd4d4d8e8f0ff54a3e4b3c9b0fd88a2a11"]
}
allow_non_tls: true
`,
  },
  { name: 'jetstream store_dir', conf: 'jetstream {\n  store_dir: "/tmp/tsnats-js"\n  max_mem: 1G\n}\n' },
  { name: 'case-insensitive keys', conf: 'PORT: 4222\nAuthorization { USER: a, PASSWORD: b }\nMAX_PAYLOAD: 1kb\n' },
  { name: 'durations', conf: 'ping_interval: 5s\nwrite_deadline: "500ms"\nlame_duck_duration: "45s"\nlame_duck_grace_period: "1s"\n' },
  { name: 'logging and files', conf: 'debug: yes\nlogfile: "/tmp/tsnats.log"\npidfile: "/tmp/tsnats.pid"\nports_file_dir: "/tmp"\nno_header_support: true\n' },

  { name: 'websocket block', conf: 'websocket {\n  port: 8080\n  no_tls: true\n}\n' },
  {
    name: 'websocket, every option',
    conf: 'ws {\n  listen: "127.0.0.1:8080"\n  no_tls: true\n  compression: true\n  same_origin: true\n  allowed_origins: ["http://a.example.com", "https://b.example.com:8443"]\n  handshake_timeout: "2s"\n  advertise: "ws.example.com:80"\n  authorization {\n    user: u\n    password: p\n    timeout: 2.5\n  }\n}\n',
  },
  { name: 'websocket wss', conf: 'websocket {\n  port: 8443\n  tls {\n    cert_file: "@CERT@"\n    key_file: "@KEY@"\n  }\n}\n' },
  // ---- rejected by both
  { name: 'unknown field', conf: 'port: 4222\n\nfoo: bar\n', sameMessage: true },
  { name: 'unused variable is an unknown field', conf: 'x = 1\nport: 4222\n', sameMessage: true },
  { name: 'store_dir twice', conf: 'store_dir: /tmp/a\njetstream {\n  store_dir: /tmp/b\n}\n', sameMessage: 'reason' },
  { name: 'store_dir twice, other order', conf: 'jetstream { store_dir: /tmp/b }\nstoredir: /tmp/a\n', sameMessage: 'reason' },
  { name: 'unresolved variable', conf: 'port: 4222\nserver_name: $TSNATS_SURELY_UNSET\n' },
  { name: 'unclosed array', conf: 'port: 4222\nauthorization {\n  users = [\n    {user: a}\n' },
  { name: 'junk after value', conf: 'port: 4222 x\n' },
  { name: 'bad escape', conf: 'server_name: "a\\qb"\n' },
  { name: 'ocsp bad mode', conf: 'ocsp { mode: bogus }\n' },
  { name: 'ocsp string', conf: 'port: 4222\nocsp: "yes"\n', sameMessage: true },
  { name: 'ocsp unknown field', conf: 'ocsp { foo: 1 }\n' },
  { name: 'tls missing key', conf: 'tls {\n  cert_file: "@CERT@"\n}\n', sameMessage: true },
  { name: 'tls missing cert file', conf: 'tls {\n  cert_file: "@DIR@/nope.pem"\n  key_file: "@KEY@"\n}\n' },
  { name: 'token and user', conf: 'port: 1\nauthorization { token: abc, user: a, pass: b }\n', sameMessage: true },
  { name: 'invalid subject', conf: 'authorization { users: [{user: a, permissions: {publish: "a..b"}}] }\n' },
  { name: 'duplicate user', conf: 'port: 1\nauthorization { users: [{user: a}, {user: a}] }\n' },
  { name: 'lame duck too short', conf: 'port: 1\nlame_duck_duration: "1s"\n', sameMessage: true },
  { name: 'max_payload too big', conf: 'port: 1\nmax_payload: 3gb\n', sameMessage: true },
  { name: 'plain number duration (a warning, fatal for -t)', conf: 'port: 1\nping_interval: 5\n', sameMessage: true },
  { name: 'the 1m gotcha (a warning, fatal for -t)', conf: 'write_deadline: 1m\n' },
  { name: 'bad duration', conf: 'port: 1\nping_interval: "5x"\n', sameMessage: true },
  { name: 'wrong type', conf: 'port: "4222"\n' },
  { name: 'missing include', conf: 'include nope.conf\n' },
  { name: 'unknown tls field', conf: 'tls {\n  cert_file: "@CERT@"\n  key_file: "@KEY@"\n  foo: 1\n}\n', sameMessage: true },
  { name: 'listen without port', conf: 'port: 1\nlisten: "127.0.0.1"\n', sameMessage: true },

  { name: 'websocket without tls', conf: 'websocket {\n  port: 8080\n}\n', differs: { tsnats: 'reject', why: 'checked at load time (so -t reports it); nats-server -t only parses and refuses to start with the same message' } },
  { name: 'websocket users in authorization', conf: 'websocket {\n  port: 8080\n  no_tls: true\n  authorization { users: [] }\n}\n' },
  { name: 'websocket user with top-level users', conf: 'authorization { users: [{user: a, password: b}] }\nwebsocket {\n  port: 8080\n  no_tls: true\n  authorization { user: x, password: y }\n}\n', differs: { tsnats: 'reject', why: 'checked at load time (so -t reports it); nats-server -t only parses and refuses to start with the same message' } },
  { name: 'websocket jwt_cookie without operators', conf: 'websocket {\n  port: 8080\n  no_tls: true\n  jwt_cookie: "jwt"\n}\n', differs: { tsnats: 'reject', why: 'checked at load time (so -t reports it); nats-server -t only parses and refuses to start with the same message' } },
  { name: 'websocket float handshake_timeout', conf: 'websocket {\n  port: 8080\n  no_tls: true\n  handshake_timeout: 1.5\n}\n' },

  // ---- knowingly different
  {
    name: 'ocsp urls failover list',
    conf: 'ocsp {\n  mode: always\n  urls: ["http://127.0.0.1:8888", "http://127.0.0.1:8889"]\n}\n',
    differs: { tsnats: 'accept', why: 'urls is an ordered failover list in tsnats; nats-server 2.9.10 fails on any urls array' },
  },
  { name: 'cluster block', conf: 'cluster {\n  port: 6222\n}\n' },
  { name: 'cluster users', conf: 'cluster {\n  port: 6222\n  authorization {\n    users: [{user: a, password: b}]\n  }\n}\n', sameMessage: 'reason' },
  { name: 'cluster unknown field', conf: 'cluster {\n  port: 6222\n  foo: 1\n}\n', sameMessage: true },
  { name: 'leafnodes block', conf: 'leafnodes {\n  port: 7422\n  remotes: [ { url: "nats-leaf://127.0.0.1:7423", deny_imports: "a.>" } ]\n}\n' },
  { name: 'leafnodes unknown field', conf: 'leafnodes {\n  port: 7422\n  foo: 1\n}\n', sameMessage: true },
  // accounts {} (src/config/accounts.ts)
  {
    name: 'accounts with users, exports and imports',
    conf: 'accounts {\n  A {\n    users: [{user: a, password: p}]\n    exports: [{stream: "pub.>"}, {service: "svc.q", response: stream, accounts: [B]}]\n  }\n  B {\n    users: [{user: b, password: p}]\n    imports: [{stream: {account: A, subject: "pub.>"}, prefix: "from.a"}, {service: {account: A, subject: "svc.q"}, to: "q"}]\n  }\n}\n',
  },
  { name: 'accounts as a list of names', conf: 'accounts: [A, B]\n' },
  { name: 'accounts: $G is reserved', conf: 'accounts {\n  $G {\n    users: [{user: a, password: p}]\n  }\n}\n', sameMessage: 'reason' },
  { name: 'accounts: unknown field', conf: 'accounts {\n  A {\n    foo: 1\n  }\n}\n' },
  {
    name: 'accounts: import of an undefined account',
    conf: 'accounts {\n  A {\n    imports: [{stream: {account: Z, subject: "x"}}]\n  }\n}\n',
    sameMessage: 'reason',
  },
  {
    name: 'accounts: service import without a matching export',
    conf: 'accounts {\n  A {\n    exports: [{service: "other"}]\n  }\n  B {\n    imports: [{service: {account: A, subject: "q"}}]\n  }\n}\n',
    sameMessage: 'reason',
  },
  {
    name: 'accounts: private export not listing the importer',
    conf: 'accounts {\n  A {\n    exports: [{stream: "x.>", accounts: [C]}]\n  }\n  B {\n    imports: [{stream: {account: A, subject: "x.>"}}]\n  }\n  C {}\n}\n',
    sameMessage: 'reason',
  },
  {
    name: 'accounts: unknown response type',
    conf: 'accounts {\n  A {\n    exports: [{service: "q", response: sometimes}]\n  }\n}\n',
    sameMessage: 'reason',
  },
  {
    name: 'accounts: duplicate user across accounts',
    conf: 'accounts {\n  A {\n    users: [{user: a, password: p}]\n  }\n  B {\n    users: [{user: a, password: q}]\n  }\n}\n',
  },
  {
    name: 'accounts: users with a single authorization user',
    conf: 'authorization {\n  user: x\n  password: y\n}\naccounts {\n  A {\n    users: [{user: a, password: p}]\n  }\n}\n',
  },
  { name: 'accounts: limits and jetstream', conf: 'accounts {\n  A {\n    jetstream: enabled\n    limits: {max_connections: 10, max_subs: 5}\n  }\n}\n' },
  { name: 'accounts: unknown limit', conf: 'accounts {\n  A {\n    limits: {max_foo: 1}\n  }\n}\n', sameMessage: 'reason' },
  { name: 'system_account names a configured account', conf: 'accounts {\n  SYS {\n    users: [{user: s, password: p}]\n  }\n}\nsystem_account: SYS\n' },
  { name: 'no_auth_user in an account', conf: 'accounts {\n  A {\n    users: [{user: a, password: p}]\n  }\n}\nno_auth_user: a\n' },
  {
    name: 'no_auth_user unknown with accounts',
    conf: 'accounts {\n  A {\n    users: [{user: a, password: p}]\n  }\n}\nno_auth_user: z\n',
    differs: { tsnats: 'reject', why: 'nats-server refuses it with the same text only when the server starts' },
  },
  { name: 'allowed_connection_types', conf: 'authorization {\n  users: [{user: a, password: p, allowed_connection_types: [STANDARD, websocket]}]\n}\n' },
  { name: 'allowed_connection_types unknown', conf: 'authorization {\n  users: [{user: a, password: p, allowed_connection_types: [FOO]}]\n}\n' },
  {
    name: 'logtime_utc and max_closed_clients',
    conf: 'logtime_utc: true\nmax_closed_clients: 100\n',
    differs: { tsnats: 'accept', why: 'newer nats-server options, unknown to 2.9.10' },
  },
  {
    name: 'tls handshake_first and min_version',
    conf: 'tls {\n  cert_file: "@CERT@"\n  key_file: "@KEY@"\n  handshake_first: auto\n  min_version: "1.3"\n}\n',
    differs: { tsnats: 'accept', why: 'newer nats-server tls options, unknown to 2.9.10' },
  },
  {
    name: 'empty tls block',
    conf: 'tls {}\n',
    differs: { tsnats: 'reject', why: 'a tls block without a certificate cannot serve TLS; tsnats says so at load time' },
  },
  {
    name: 'port out of range',
    conf: 'port: 70000\n',
    differs: { tsnats: 'reject', why: 'nats-server only fails when it tries to listen' },
  },
];

interface Outcome {
  ok: boolean;
  reasons: { line: number; reason: string }[];
  text: string;
}

function runNats(file: string, env: Record<string, string>): Outcome {
  const r = spawnSync(NATS!, ['-t', '-c', file], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    timeout: 15000,
  });
  const text = `${r.stdout}${r.stderr}`.trim();
  const reasons: { line: number; reason: string }[] = [];
  for (const l of text.split('\n')) {
    const m = /^(?:nats-server: )?(.+?):(\d+):(\d+): (.*)$/.exec(l.trim());
    if (m) reasons.push({ line: Number(m[2]), reason: m[4]! });
  }
  return { ok: r.status === 0, reasons, text };
}

function runTsnats(file: string, env: Record<string, string>): Outcome {
  try {
    const { warnings } = loadConfigFile(file, { env });
    const fatal = warnings.filter((w) => !/JetStream is not supported/.test(w));
    const reasons = fatal.map((w) => {
      const m = /^.+?:(\d+):(\d+): (.*)$/.exec(w)!;
      return { line: Number(m[1]), reason: m[3]! };
    });
    return { ok: fatal.length === 0, reasons, text: fatal.join('\n') || 'valid' };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, reasons: e.errors.map((x) => ({ line: x.line, reason: x.reason })), text: e.message };
  }
}

describe('differential: nats-server -t vs tsnats', { skip: NATS ? false : 'nats-server is not installed: differential test skipped' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'tsnats-diff-'));
  let cert = '';
  let key = '';

  before(() => {
    cert = join(root, 'cert.pem');
    key = join(root, 'key.pem');
    writeFileSync(cert, TEST_CERT);
    writeFileSync(key, TEST_KEY);
  });

  CASES.forEach((c, idx) => {
    it(c.differs ? `${c.name} (knowingly differs: ${c.differs.why})` : c.name, () => {
      const dir = join(root, `case${idx}`);
      mkdirSync(dir, { recursive: true });
      const fill = (s: string): string => s.replaceAll('@CERT@', cert).replaceAll('@KEY@', key).replaceAll('@DIR@', dir);
      for (const [rel, text] of Object.entries(c.files ?? {})) {
        mkdirSync(join(dir, rel, '..'), { recursive: true });
        writeFileSync(join(dir, rel), fill(text));
      }
      const file = join(dir, 'case.conf');
      writeFileSync(file, fill(c.conf));
      const env = c.env ?? {};
      // nats-server resolves relative includes from the current directory when the
      // config path is relative; an absolute path keeps both sides comparable.
      const nats = runNats(file, env);
      const ts = runTsnats(file, env);
      if (c.differs) {
        assert.equal(ts.ok, c.differs.tsnats === 'accept', `tsnats: ${ts.text}`);
        assert.equal(nats.ok, !ts.ok, `expected nats-server to disagree: ${nats.text}`);
        return;
      }
      assert.equal(ts.ok, nats.ok, `nats-server says: ${nats.text}\ntsnats says: ${ts.text}`);
      if (c.sameMessage) {
        assert.ok(nats.reasons.length > 0, `no positioned error from nats-server: ${nats.text}`);
        const first = nats.reasons[0]!;
        assert.ok(
          ts.reasons.some((r) => r.reason === first.reason && (c.sameMessage === 'reason' || r.line === first.line)),
          `nats-server: line ${first.line}: ${first.reason}\ntsnats: ${JSON.stringify(ts.reasons)}`,
        );
      }
    });
  });
});
