// Seed corpus of configuration files for the config fuzz target (mutated byte- and token-wise).
// Copied from the nats-server examples quoted in /work/shared/reference/nats-protocol-config-anchors.md
// (server/configs/test.conf, authorization.conf, the accounts block), the NATS OCSP stapling page
// (/work/shared/seed/ocsp-stapling.md) and the accepted cases of test/config/differential.test.ts,
// plus files that exercise includes, variables and the environment through the virtual file system
// and environment below. test/config/arbitraries.ts REALISTIC_CONFIGS are added by the target.

export const CONFIG_CORPUS: readonly string[] = [
  `server_name: testing_server
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
  `authorization {
  super_user = { publish = "*"  subscribe = ">" }
  req_pub_user = { publish = ["req.foo", "req.bar"]  subscribe = "_INBOX.>" }
  default_permissions: $default_user
  users = [
    {user: alice, password: foo, permissions: $super_user}
    {user: susan, password: baz}
  ]
}
`,
  `accounts: {
  A: {
    users: [ {user: a, password: x} ]
    exports: [ {stream: "public.>"}, {service: "pub.request", accounts: [B], response: singleton} ]
    imports: [ {stream: {account: B, subject: "x.>"}, prefix: "from.b"}, {service: {account: B, subject: "q"}, to: "local.q"} ]
    jetstream: enabled
    mappings: { "src.*": "dst.$1" }
  }
}
system_account: SYS
`,
  'ocsp: false\n',
  'ocsp {\nmode: must\nurl: "http://ocsp.example.net"\n}\n',
  'ocsp {\nmode: always\nurl: "http://ocsp.example.net"\n}\n',
  `store_dir: "/path/to/store/dir"
tls {
cert_file: "configs/certs/ocsp/server-status-request-url.pem"
key_file: "configs/certs/ocsp/server-status-request-url-key.pem"
ca_file: "configs/certs/ocsp/ca-cert.pem"
timeout: 5
}
`,
  '{\n  "port": 4222,\n  "debug": true,\n  "authorization": {"users": [{"user": "a", "password": "b"}]}\n}\n',
  `# comment
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
  `PORT_VAR = 4333
port: $PORT_VAR
authorization {
  USR = bob
  user: $USR
  password: $FUZZ_PASSWORD
}
server_name: $FUZZ_NAME
`,
  'port: 4222\ninclude inc/auth.conf\n',
  `authorization {
  ADMIN = { publish = ">", subscribe = ">" }
  default_permissions = { publish = "public.>" }
  users = [
    { user: admin, password: "$2a$11$ooo4gPBbeGmj0Rc5pnU0peSsXo4sVmJwHz3yMkUh7kVXyB5qCmUTu", permissions: $ADMIN }
    { user: svc, password: x, permissions: { publish: { allow: ["req.*"], deny: "req.secret" }, subscribe: "_INBOX.>", allow_responses: true } }
    { user: other, password: y, permissions: { pub: "a", sub: ["b", "c q"], allow_responses: { max: 3, expires: "5s" } } }
  ]
}
no_auth_user: other
`,
  `tls {
  cert_file: "server-cert.pem"
  key_file: "server-key.pem"
  ca_file: "ca.pem"
  verify: true
  timeout: 3
  cipher_suites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"]
  curve_preferences: [CurveP256, X25519]
  pinned_certs: ["a4e3b1b3bd9c1f8d8a0f7dbe9d8a0ebd4d4d8e8f0ff54a3e4b3c9b0fd88a2a11"]
}
allow_non_tls: true
`,
  'jetstream {\n  store_dir: "/tmp/tsnats-js"\n  max_mem: 1G\n}\n',
  'PORT: 4222\nAuthorization { USER: a, PASSWORD: b }\nMAX_PAYLOAD: 1kb\n',
  'ping_interval: 5s\nwrite_deadline: "500ms"\nlame_duck_duration: "45s"\nlame_duck_grace_period: "1s"\n',
  'debug: yes\nlogfile: "/tmp/tsnats.log"\npidfile: "/tmp/tsnats.pid"\nports_file_dir: "/tmp"\nno_header_support: true\n',
  // includes (virtual files below) and environment variables (FUZZ_ENV below)
  'include users.conf\nport: $FUZZ_PORT\n',
  'authorization {\n  include "inc/users.conf"\n}\nmax_payload: $FUZZ_SIZE\n',
  'include self.conf\n',
  'include a.conf\n',
  'include chain0.conf\n',
  'listen: $FUZZ_LISTEN\nserver_name: $FUZZ_CYCLE_A\n',
  'authorization: $FUZZ_MAP\n',
  'port: $FUZZ_BAD\n',
  'x: [1, 2, [3, [4, {a: $FUZZ_SELF}]]]\n',
  'max_payload: 1GB\nmax_pending: 512MB\nmax_connections: 0\nmax_control_line: -1\n',
  'write_deadline: 1e400\nping_interval: -5\nlame_duck_duration: "1y"\nping_max: 99999999999999999999\n',
  'date: 2020-01-01T00:00:00Z\nf: 1.5e3\nneg: -0\nhex: 0x1F\n',
];

/** Directory of the fuzzed file; includes resolve against it. */
export const VFS_DIR = '/fuzz';

/** Files `include` can reach (everything else is ENOENT). */
export const VFS: Readonly<Record<string, string>> = {
  '/fuzz/users.conf': 'user: derek\npassword: porkchop\n',
  '/fuzz/inc/auth.conf': 'authorization {\n  include "sub/users.conf"\n}\n',
  '/fuzz/inc/sub/users.conf': 'user: derek\npassword: porkchop\n',
  '/fuzz/inc/users.conf': 'users = [ { user: a, password: $FUZZ_PASSWORD } ]\n',
  '/fuzz/self.conf': 'include self.conf\n',
  '/fuzz/a.conf': 'port: 1\ninclude b.conf\n',
  '/fuzz/b.conf': 'include "a.conf"\n',
  '/fuzz/bad.conf': 'port: {\n  x: [\n',
  '/fuzz/deep.conf': '{'.repeat(300) + '\n',
  ...Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`/fuzz/chain${i}.conf`, `include chain${i + 1}.conf\n`])),
  '/fuzz/chain70.conf': 'port: 4222\n',
};

/** The environment variables resolution can reach. */
export const FUZZ_ENV: Readonly<Record<string, string>> = {
  FUZZ_PORT: '4222',
  FUZZ_SIZE: '1MB',
  FUZZ_NAME: 'srv1',
  FUZZ_PASSWORD: '"p@ss"',
  FUZZ_LISTEN: '127.0.0.1:4222',
  FUZZ_MAP: '{ user: a, password: b, users: [ {user: c} ] }',
  FUZZ_CYCLE_A: '$FUZZ_CYCLE_B',
  FUZZ_CYCLE_B: '$FUZZ_CYCLE_A',
  FUZZ_SELF: '$FUZZ_SELF',
  FUZZ_BAD: '{{{ x',
  FUZZ_DEEP: '['.repeat(300),
  FUZZ_EMPTY: '',
};
