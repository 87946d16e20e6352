// Command-line flags, nats-server compatible (Go `flag` package syntax):
//   -p 4222   -p=4222   --port 4222   --port=4222   (one or two dashes, same thing)
//   bool flags never take the next argument: -D, -T=false
// Parsing stops at the first non-flag argument or after `--`; remaining arguments
// are commands (`version`, `help`), anything else is an error.
// Flags override values from the configuration file (see applyOverrides).

import { applyClusterFlags, type ClusterFlagOverrides } from './cluster.js';
import { ConfigError } from './errors.js';
import { CIPHER_SUITES, DEFAULT_PORT, DEFAULT_TLS_TIMEOUT_MS } from './options.js';
import type { ServerOptions, TlsOptions } from './types.js';

/** TLS settings given on the command line (they replace those of the file's `tls {}`). */
export interface TlsFlagOverrides {
  /** --tls */
  enable?: boolean;
  /** --tlsverify (implies --tls) */
  verify?: boolean;
  /** --tlscert */
  certFile?: string;
  /** --tlskey */
  keyFile?: string;
  /** --tlscacert */
  caFile?: string;
}

/** --user / --pass / --auth. */
export interface AuthFlagOverrides {
  user?: string;
  password?: string;
  token?: string;
}

/** Option values given on the command line; only flags that were present are set. */
export type FlagOverrides = Partial<Omit<ServerOptions, 'tls' | 'authorization' | 'cluster'>> & {
  tls?: TlsFlagOverrides;
  cluster?: ClusterFlagOverrides;
  authorization?: AuthFlagOverrides;
};

export type SignalName = 'ldm' | 'stop' | 'quit' | 'term' | 'reopen' | 'reload';
export const SIGNAL_NAMES: readonly SignalName[] = ['ldm', 'stop', 'quit', 'term', 'reopen', 'reload'];

/** `-sl <signal>[=<pid|pidfile>]`. */
export interface SignalRequest {
  signal: SignalName;
  /** The text after '=', if any. */
  target?: string;
  /** `target` when it is a number. */
  pid?: number;
  /** `target` when it is not a number: a PID file to read. */
  pidFile?: string;
}

export interface ParsedFlags {
  /** -c / --config */
  configFile?: string;
  overrides: FlagOverrides;
  /** -t: check the configuration and exit. */
  test: boolean;
  /** -v / --version, or the `version` command. */
  version: boolean;
  /** -h / --help, or the `help` command. */
  help: boolean;
  /** --help_tls */
  helpTls: boolean;
  signal?: SignalRequest;
  /**
   * Problems, in nats-server's wording (`flag provided but not defined: -x`,
   * `invalid value "abc" for flag -p: parse error`, ...). nats-server prints the
   * first one followed by the usage text.
   */
  errors: string[];
  /** Non-fatal notes (e.g. -js: JetStream is not supported). */
  warnings: string[];
}

type FlagType = 'bool' | 'string' | 'int';

interface FlagDef {
  names: string[];
  type: FlagType;
  /** Applies a parsed value; returns an error string, if any. */
  apply?: (r: ParsedFlags, v: string | number | boolean, shown: string) => string | void;
  /** nats-server flag that tsnats does not implement. */
  unsupported?: boolean;
}

function tlsOf(r: ParsedFlags): TlsFlagOverrides {
  return (r.overrides.tls ??= {});
}
function clusterOf(r: ParsedFlags): ClusterFlagOverrides {
  return (r.overrides.cluster ??= {});
}
function authOf(r: ParsedFlags): AuthFlagOverrides {
  return (r.overrides.authorization ??= {});
}
function portFlag(v: number, shown: string): string | number {
  if (v < -1 || v > 65535) return `invalid value "${v}" for flag ${shown}: port out of range`;
  return v;
}

const FLAGS: FlagDef[] = [
  { names: ['c', 'config'], type: 'string', apply: (r, v) => void (r.configFile = String(v)) },
  {
    names: ['p', 'port'],
    type: 'int',
    apply: (r, v, shown) => {
      const p = portFlag(Number(v), shown);
      if (typeof p === 'string') return p;
      r.overrides.port = p === 0 ? DEFAULT_PORT : p;
    },
  },
  { names: ['a', 'addr', 'net'], type: 'string', apply: (r, v) => void (r.overrides.host = String(v)) },
  {
    names: ['n', 'name', 'server_name'],
    type: 'string',
    apply: (r, v) => {
      const s = String(v).trim();
      if (/\s/.test(s)) return 'server name cannot contain spaces';
      if (s !== '') r.overrides.serverName = s;
    },
  },
  {
    names: ['m', 'http_port'],
    type: 'int',
    apply: (r, v, shown) => {
      const p = portFlag(Number(v), shown);
      if (typeof p === 'string') return p;
      r.overrides.httpPort = p;
    },
  },
  {
    names: ['ms', 'https_port'],
    type: 'int',
    apply: (r, v, shown) => {
      const p = portFlag(Number(v), shown);
      if (typeof p === 'string') return p;
      r.overrides.httpsPort = p;
    },
  },
  { names: ['P', 'pid'], type: 'string', apply: (r, v) => void (r.overrides.pidFile = String(v)) },
  { names: ['l', 'log'], type: 'string', apply: (r, v) => void (r.overrides.logFile = String(v)) },
  { names: ['T', 'logtime'], type: 'bool', apply: (r, v) => void (r.overrides.logtime = Boolean(v)) },
  { names: ['D', 'debug'], type: 'bool', apply: (r, v) => void (r.overrides.debug = Boolean(v)) },
  { names: ['V', 'trace'], type: 'bool', apply: (r, v) => void (r.overrides.trace = Boolean(v)) },
  { names: ['VV'], type: 'bool', apply: (r, v) => void (r.overrides.trace = Boolean(v)) },
  {
    names: ['DV', 'DVV'],
    type: 'bool',
    apply: (r, v) => {
      r.overrides.debug = Boolean(v);
      r.overrides.trace = Boolean(v);
    },
  },
  { names: ['t'], type: 'bool', apply: (r, v) => void (r.test = Boolean(v)) },
  { names: ['ports_file_dir'], type: 'string', apply: (r, v) => void (r.overrides.portsFileDir = String(v)) },
  { names: ['sd', 'store_dir'], type: 'string', apply: (r, v) => void (r.overrides.storeDir = String(v)) },
  {
    names: ['js', 'jetstream'],
    type: 'bool',
    apply: (r, v) => {
      r.overrides.jetstream = Boolean(v);
      if (v) r.warnings.push(`JetStream is not supported by tsnats: only --store_dir is used`);
    },
  },
  { names: ['user'], type: 'string', apply: (r, v) => void (authOf(r).user = String(v)) },
  { names: ['pass'], type: 'string', apply: (r, v) => void (authOf(r).password = String(v)) },
  { names: ['auth'], type: 'string', apply: (r, v) => void (authOf(r).token = String(v)) },
  { names: ['tls'], type: 'bool', apply: (r, v) => void (tlsOf(r).enable = Boolean(v)) },
  { names: ['tlsverify'], type: 'bool', apply: (r, v) => void (tlsOf(r).verify = Boolean(v)) },
  { names: ['tlscert'], type: 'string', apply: (r, v) => void (tlsOf(r).certFile = String(v)) },
  { names: ['tlskey'], type: 'string', apply: (r, v) => void (tlsOf(r).keyFile = String(v)) },
  { names: ['tlscacert'], type: 'string', apply: (r, v) => void (tlsOf(r).caFile = String(v)) },
  {
    names: ['sl', 'signal'],
    type: 'string',
    apply: (r, v) => {
      const s = String(v);
      const eq = s.indexOf('=');
      const name = (eq < 0 ? s : s.slice(0, eq)).toLowerCase();
      const target = eq < 0 ? undefined : s.slice(eq + 1);
      if (!(SIGNAL_NAMES as readonly string[]).includes(name)) return `unknown signal ${JSON.stringify(name)}`;
      const req: SignalRequest = { signal: name as SignalName };
      if (target !== undefined && target !== '') {
        req.target = target;
        if (/^\d+$/.test(target)) req.pid = Number(target);
        else req.pidFile = target;
      }
      r.signal = req;
    },
  },
  { names: ['v', 'version'], type: 'bool', apply: (r, v) => void (r.version = Boolean(v)) },
  { names: ['h', 'help'], type: 'bool', apply: (r, v) => void (r.help = Boolean(v)) },
  { names: ['help_tls'], type: 'bool', apply: (r, v) => void (r.helpTls = Boolean(v)) },
  // nats-server flags tsnats does not implement yet.
  { names: ['s', 'syslog'], type: 'bool', unsupported: true },
  { names: ['r', 'remote_syslog'], type: 'string', unsupported: true },
  { names: ['log_size_limit'], type: 'string', unsupported: true },
  { names: ['max_traced_msg_len'], type: 'string', unsupported: true },
  { names: ['client_advertise'], type: 'string', unsupported: true },
  { names: ['routes'], type: 'string', apply: (r, v) => void (clusterOf(r).routes = String(v)) },
  { names: ['cluster', 'cluster_listen'], type: 'string', apply: (r, v) => void (clusterOf(r).listen = String(v)) },
  { names: ['cluster_name'], type: 'string', apply: (r, v) => void (clusterOf(r).name = String(v)) },
  { names: ['no_advertise'], type: 'bool', apply: (r, v) => void (clusterOf(r).noAdvertise = Boolean(v)) },
  { names: ['cluster_advertise'], type: 'string', apply: (r, v) => void (clusterOf(r).advertise = String(v)) },
  { names: ['connect_retries'], type: 'int', apply: (r, v) => void (clusterOf(r).connectRetries = Number(v)) },
  { names: ['profile'], type: 'string', unsupported: true },
];

const BY_NAME = new Map<string, FlagDef>();
for (const d of FLAGS) for (const n of d.names) BY_NAME.set(n, d);

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** Go's strconv.ParseInt(s, 0, 64) for the values that matter here. */
function parseGoInt(s: string): number | undefined {
  const m = /^([+-]?)(0x[0-9a-f]+|0o[0-7]+|0b[01]+|0[0-7]*|[1-9]\d*)$/i.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  let v: number;
  if (/^0[xob]/i.test(body)) v = Number(body.toLowerCase());
  else if (body.length > 1 && body.startsWith('0')) v = parseInt(body, 8);
  else v = Number(body);
  if (!Number.isSafeInteger(v)) return undefined;
  return m[1] === '-' ? -v : v;
}

/** Parses nats-server style command-line arguments (without the program name). */
export function parseFlags(argv: readonly string[]): ParsedFlags {
  const r: ParsedFlags = { overrides: {}, test: false, version: false, help: false, helpTls: false, errors: [], warnings: [] };
  let i = 0;
  const rest: string[] = [];
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== '-') {
      rest.push(...argv.slice(i));
      break;
    }
    i++;
    let body = arg.slice(1);
    if (body.startsWith('-')) {
      body = body.slice(1);
      if (body === '') {
        rest.push(...argv.slice(i)); // "--" ends the flags
        break;
      }
    }
    if (body === '' || body.startsWith('-') || body.startsWith('=')) {
      r.errors.push(`bad flag syntax: ${arg}`);
      break;
    }
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const shown = `-${name}`;
    const def = BY_NAME.get(name);
    if (!def) {
      r.errors.push(`flag provided but not defined: ${shown}`);
      break;
    }
    let value: string | number | boolean;
    if (def.type === 'bool') {
      if (inline === undefined) value = true;
      else {
        const b = parseGoBool(inline);
        if (b === undefined) {
          r.errors.push(`invalid boolean value ${JSON.stringify(inline)} for ${shown}: parse error`);
          break;
        }
        value = b;
      }
    } else {
      let raw = inline;
      if (raw === undefined) {
        if (i >= argv.length) {
          r.errors.push(`flag needs an argument: ${shown}`);
          break;
        }
        raw = argv[i++]!;
      }
      if (def.type === 'int') {
        const n = parseGoInt(raw);
        if (n === undefined) {
          r.errors.push(`invalid value ${JSON.stringify(raw)} for flag ${shown}: parse error`);
          break;
        }
        value = n;
      } else value = raw;
    }
    if (def.unsupported) {
      r.errors.push(`flag ${shown} is not supported by tsnats yet`);
      continue;
    }
    const problem = def.apply?.(r, value, shown);
    if (problem) r.errors.push(problem);
  }
  if (rest.length > 0 && r.errors.length === 0) {
    const cmd = rest[0]!;
    switch (cmd.toLowerCase()) {
      case 'version':
        r.version = true;
        break;
      case 'help':
        r.help = true;
        break;
      default:
        r.errors.push(`unrecognized command: ${JSON.stringify(cmd)}`);
    }
  }
  const tls = r.overrides.tls;
  if (tls) {
    if (tls.enable || tls.verify) {
      if (!tls.certFile) r.errors.push('TLS Server certificate must be present and valid');
      else if (!tls.keyFile) r.errors.push('TLS Server private key must be present and valid');
    } else {
      const given = (['certFile', 'keyFile', 'caFile'] as const).filter((k) => tls[k] !== undefined);
      if (given.length > 0) {
        const names = given.map((k) => (k === 'certFile' ? '--tlscert' : k === 'keyFile' ? '--tlskey' : '--tlscacert'));
        r.warnings.push(`${names.join(', ')} ignored: TLS is only configured from the command line with --tls or --tlsverify`);
      }
    }
  }
  if (r.test && r.configFile === undefined && r.errors.length === 0 && !r.help && !r.version) {
    r.errors.push('must specify [-c, --config] option to check configuration file syntax');
  }
  return r;
}

/**
 * Returns `options` with the command-line values applied on top (flags win over
 * the configuration file). TLS flags (--tls/--tlsverify with --tlscert, --tlskey,
 * --tlscacert) replace the certificate, key, CA and verify settings of the file's
 * `tls {}` (keeping its other settings). --user/--pass/--auth replace the single
 * user or token of `authorization {}`; combining them with a users array or
 * each other is an error, as in nats-server. Throws {@link ConfigError}.
 */
export function applyOverrides(options: ServerOptions, overrides: FlagOverrides): ServerOptions {
  const o: ServerOptions = structuredClone(options);
  const { tls, authorization, cluster, ...simple } = overrides;
  if (cluster) applyClusterFlags(o, cluster);
  for (const [k, v] of Object.entries(simple)) {
    if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  }
  if (tls && (tls.enable || tls.verify)) {
    const base: TlsOptions = o.tls ?? {
      certs: [],
      verify: false,
      verifyAndMap: false,
      timeoutMs: DEFAULT_TLS_TIMEOUT_MS,
      handshakeFirst: false,
    };
    const t: TlsOptions = { ...base, verify: Boolean(tls.verify), verifyAndMap: Boolean(tls.verify) && base.verifyAndMap };
    if (tls.certFile !== undefined) {
      t.certFile = tls.certFile;
      t.certs = [];
    }
    if (tls.keyFile !== undefined) t.keyFile = tls.keyFile;
    if (tls.caFile !== undefined) t.caFile = tls.caFile;
    if (!t.certFile && t.certs.length === 0) throw new ConfigError('TLS Server certificate must be present and valid');
    if (t.certFile && !t.keyFile) throw new ConfigError('TLS Server private key must be present and valid');
    o.tls = t;
  }
  if (authorization && Object.values(authorization).some((v) => v !== undefined)) {
    const a = o.authorization ? { ...o.authorization } : { users: [] };
    if (authorization.user !== undefined) a.user = authorization.user;
    if (authorization.password !== undefined) a.password = authorization.password;
    if (authorization.token !== undefined) a.token = authorization.token;
    const single = a.user !== undefined || a.password !== undefined;
    if (single && a.token !== undefined) throw new ConfigError('Cannot have a user/pass and token');
    if (a.users.length > 0 && a.token !== undefined) throw new ConfigError('Can not have a token and a users array');
    if (a.users.length > 0 && single) throw new ConfigError('Can not have a single user/pass and a users array');
    o.authorization = a;
  }
  if (o.maxPayload > o.maxPending) {
    throw new ConfigError(`max_payload (${o.maxPayload}) cannot be higher than max_pending (${o.maxPending})`);
  }
  return o;
}

/** The usage text (`-h`), laid out as nats-server's. */
export function usage(exe = 'tsnats'): string {
  return `
Usage: ${exe} [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222)
    -n, --name
        --server_name <server_name>  Server name (default: auto)
    -P, --pid <file>                 File to store PID
    -m, --http_port <port>           Use port for http monitoring
    -ms,--https_port <port>          Use port for https monitoring
    -c, --config <file>              Configuration file
    -t                               Test configuration and exit
    -sl,--signal <signal>[=<pid>]    Send signal to ${exe} process (ldm, stop, quit, term, reopen, reload)
                                     <pid> can be either a PID (e.g. 1) or the path to a PID file (e.g. /var/run/${exe}.pid)
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports).

Logging Options:
    -l, --log <file>                 File to redirect log output
    -T, --logtime                    Timestamp log entries (default: true)
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -VV                              Verbose trace (same as -V in ${exe})
    -DV                              Debug and trace
    -DVV                             Debug and verbose trace (same as -DV in ${exe})

Storage Options:
    -sd, --store_dir <dir>           Set the storage directory (OCSP staple cache in <dir>/ocsp)

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
        --help_tls                   TLS help
`;
}

/** The `--help_tls` text. */
export function tlsUsage(): string {
  const ciphers = Object.keys(CIPHER_SUITES)
    .map((c) => `    ${c}`)
    .join('\n');
  return `
TLS configuration is specified in the tls section of a configuration file:

e.g.

    tls {
        cert_file:      "./certs/server-cert.pem"
        key_file:       "./certs/server-key.pem"
        ca_file:        "./certs/ca.pem"
        verify:         true
        verify_and_map: true

        cipher_suites: [
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ]
        curve_preferences: [
            "CurveP256",
            "CurveP384",
            "CurveP521"
        ]
    }

    ocsp {
        mode: always                 # auto (default), must, always, never
        urls: ["http://ocsp.example.net", "http://ocsp-backup.example.net"]
    }

Available cipher suites include (Go names, mapped to OpenSSL names):
${ciphers}

Available curve preferences include:
    X25519
    CurveP256
    CurveP384
    CurveP521
`;
}
