// Shared harness for the hostile-environment tests (test/hostile, test/faults, test/load,
// test/security) and the long run (test/load/long.ts): a throwaway PKI, tsnats in-process or as a
// child process (bin/tsnats, optionally wrapped: prlimit, a private mount namespace, an --import
// preload), a TLS client that asks for a staple like a NATS client (INFO, then TLS), a raw NATS
// protocol client, and readers of /proc/<pid> (fds, RSS, peak RSS).
//
// Everything binds 127.0.0.1 on random ports; every wait is bounded.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import tls from 'node:tls';
import { startServer, type RunningServer } from '../../src/index.js';
import { parseOcspResponse, type Stapler } from '../../src/ocsp/index.js';
import { ocspStaplingHook, type OcspStaplingHookOptions } from '../../src/server/ocsp.js';
import { observabilityHook } from '../../src/server/observability.js';
import { createTestPki, type IssuedCert, type TestPki } from '../../src/testkit/index.js';

export const BIN = resolve('bin/tsnats');
/** Compiled test helpers live next to this file in dist/test/hostile. */
export const DIST_TEST = resolve('dist/test');

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return fn();
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `tsnats-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A PKI (AIA pointing nowhere useful: each test issues certificates for its own responder). */
export async function makePki(ocspUrl = 'http://127.0.0.1:9/unused'): Promise<TestPki> {
  return createTestPki({ ocspUrl });
}

let certSeq = 0;
/** A Must-Staple server certificate whose AIA points at `url` (unique name, so unique cache file). */
export function issueStapled(pki: TestPki, label: string, url: string, extra: Parameters<TestPki['issue']>[1] = {}): Promise<IssuedCert> {
  return pki.issue(`${label.replace(/[^a-zA-Z0-9-]/g, '-')}-${process.pid}-${++certSeq}`, { mustStaple: true, ocspUrls: [url], ...extra });
}

// ---------------------------------------------------------------------------------------------
// Configuration text

export interface TlsConf {
  cert: { certFile: string; keyFile: string };
  caFile?: string;
  /** `ocsp` block text, e.g. ocspBlock('must'). Omitted when undefined. */
  ocsp?: string;
  storeDir?: string;
  tlsExtra?: string[];
  extra?: string[];
}

export function ocspBlock(mode: string, urls: string[] = []): string {
  const u = urls.length === 1 ? `\n  url: "${urls[0]}"` : urls.length > 1 ? `\n  urls: [${urls.map((x) => `"${x}"`).join(', ')}]` : '';
  return `ocsp {\n  mode: ${mode}${u}\n}`;
}

/** Config text without host/port (the starters add `host: 127.0.0.1`, `port: -1`). */
export function tlsConf(o: TlsConf): string {
  const lines: string[] = [];
  if (o.ocsp) lines.push(o.ocsp);
  if (o.storeDir) lines.push(`store_dir: "${o.storeDir}"`);
  for (const e of o.extra ?? []) lines.push(e);
  lines.push('tls {');
  lines.push(`  cert_file: "${o.cert.certFile}"`);
  lines.push(`  key_file: "${o.cert.keyFile}"`);
  if (o.caFile) lines.push(`  ca_file: "${o.caFile}"`);
  for (const e of o.tlsExtra ?? []) lines.push(`  ${e}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** `<store_dir>/ocsp/<sha256 of the leaf DER>`: where the server caches the staple of `cert`. */
export function cacheFileOf(storeDir: string, cert: IssuedCert): string {
  return join(storeDir, 'ocsp', createHash('sha256').update(cert.der).digest('hex'));
}

/** Bytes, inode and mtime of a file (or null if absent), to prove a file did not change. */
export interface FileFingerprint {
  bytes: Buffer;
  ino: number;
  mtimeMs: number;
}

export function fingerprint(path: string): FileFingerprint | null {
  try {
    const st = statSync(path);
    return { bytes: readFileSync(path), ino: st.ino, mtimeMs: st.mtimeMs };
  } catch {
    return null;
  }
}

/** Names in `<store_dir>/ocsp` other than final cache files (temp files left behind). */
export function strayFiles(storeDir: string): string[] {
  try {
    return readdirSync(join(storeDir, 'ocsp')).filter((n) => !/^[0-9a-f]{64}$/.test(n));
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// tsnats in-process

export interface InProc extends RunningServer {
  confFile: string;
  logs: string[];
  /** Every stapler in service (one per certificate; the client and HTTPS listeners share it). */
  staplers(): Stapler[];
  /** The first stapler (single-certificate servers). */
  stapler(): Stapler;
  hasLog(substr: string): boolean;
  stop(): Promise<void>;
}

export interface InProcOptions {
  /** Engine options for the stapling hook (short fetch timeouts, fast retries). */
  engine?: OcspStaplingHookOptions['engine'];
  /** Extra top-level config lines before the given text (e.g. `http: "127.0.0.1:-1"`). */
  head?: string[];
  /** Collect the log here (also when start-up fails). */
  logs?: string[];
}

let confSeq = 0;

/**
 * Starts tsnats in this process from a config file (as the CLI would, with the stapling and
 * observability hooks; the stapling hook gets `engine` options so timeouts fit a test). Logs at
 * debug level are captured in `logs`. Rejects with the start-up error message.
 */
export async function startInProc(dir: string, text: string, o: InProcOptions = {}): Promise<InProc> {
  const confFile = join(dir, `tsnats-${process.pid}-${++confSeq}.conf`);
  writeFileSync(confFile, ['host: 127.0.0.1', 'port: -1', ...(o.head ?? []), text].join('\n') + '\n');
  const logs: string[] = o.logs ?? [];
  const r = await startServer({
    configFile: confFile,
    log: { write: (l: string) => void logs.push(l.replace(/\r?\n$/, '')), colors: false, debug: true },
    noDefaultHooks: true,
    hooks: [ocspStaplingHook(undefined, { engine: o.engine }), observabilityHook()],
  });
  const staplers = (): Stapler[] => [...new Set(r.server.ocsp.list().map((e) => e.stapler))];
  return {
    ...r,
    confFile,
    logs,
    staplers,
    stapler: () => {
      const s = staplers()[0];
      if (!s) throw new Error('no stapler in service');
      return s;
    },
    hasLog: (s) => logs.some((l) => l.includes(s)),
    stop: () => r.close(),
  };
}

/** startInProc, resolving to the start-up error instead of rejecting. */
export async function startInProcOutcome(
  dir: string,
  text: string,
  o: InProcOptions = {},
): Promise<{ ok: true; ts: InProc } | { ok: false; error: string; logs: string[] }> {
  const logs = o.logs ?? [];
  try {
    return { ok: true, ts: await startInProc(dir, text, { ...o, logs }) };
  } catch (e) {
    return { ok: false, error: (e as Error).message, logs };
  }
}

// ---------------------------------------------------------------------------------------------
// tsnats as a child process

export interface Child {
  child: ChildProcess;
  pid: number;
  /** stderr (the log) so far. */
  out(): string;
  port: number;
  /** Monitoring port (http), when `monitor` was asked for. */
  monitorPort: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly done: boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnOptions {
  /** Add `http: "127.0.0.1:-1"` and parse the monitoring port. */
  monitor?: boolean;
  /** Modules to preload with `--import` (paths of compiled .js files). */
  preload?: string[];
  /** Extra node flags (e.g. --expose-gc). */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  /** Raise RLIMIT_NOFILE (soft, up to the hard limit) for the child with `prlimit`. */
  nofile?: number;
  /**
   * Run the node command through `sh -c '<prefix>; exec node ...'` inside `unshare -m` (a private
   * mount namespace), e.g. to mount a tiny tmpfs as the store_dir.
   */
  mountNsSetup?: string;
  timeoutMs?: number;
  /** Give up waiting for `Server is ready` as soon as stderr matches. */
  failFast?: RegExp;
}

export interface SpawnOutcome {
  ready: boolean;
  proc: Child;
}

let spawnSeq = 0;

/** The hard RLIMIT_NOFILE of this process (from /proc/self/limits). */
export function hardNofile(): number {
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (!m) return 1024;
  return m[2] === 'unlimited' ? 1 << 20 : Number(m[2]);
}

export function softNofile(pid: number | 'self' = 'self'): number {
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  if (!m) return 1024;
  return m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
}

const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit', '/usr/sbin/prlimit'].find((p) => existsSync(p));

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Spawns `bin/tsnats -c <conf>` and waits for `Server is ready` (or exit). */
export async function spawnTsnats(dir: string, text: string, o: SpawnOptions = {}): Promise<SpawnOutcome> {
  const confFile = join(dir, `child-${process.pid}-${++spawnSeq}.conf`);
  const head = ['host: 127.0.0.1', 'port: -1'];
  if (o.monitor) head.push('http: "127.0.0.1:-1"');
  writeFileSync(confFile, [...head, text].join('\n') + '\n');
  const nodeArgs = [...(o.nodeFlags ?? []), ...(o.preload ?? []).flatMap((p) => ['--import', pathToFileURL(p).href]), BIN, '-c', confFile];
  let cmd = process.execPath;
  let args = nodeArgs;
  if (o.nofile !== undefined) {
    const soft = Math.min(o.nofile, hardNofile());
    if (PRLIMIT) {
      args = [`--nofile=${soft}:${hardNofile()}`, cmd, ...args];
      cmd = PRLIMIT;
    } else {
      args = ['-c', `ulimit -n ${soft} && exec ${[cmd, ...args].map(shQuote).join(' ')}`];
      cmd = 'sh';
    }
  }
  if (o.mountNsSetup !== undefined) {
    const inner = [cmd, ...args].map(shQuote).join(' ');
    args = ['-m', 'sh', '-c', `${o.mountNsSetup} && exec ${inner}`];
    cmd = 'unshare';
  }
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...(o.env ?? {}) } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 4_000_000) err = err.slice(-2_000_000);
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      done = true;
      r({ code, signal });
    }),
  );
  const proc: Child = {
    child,
    pid: child.pid ?? 0,
    out: () => err,
    port: 0,
    monitorPort: 0,
    exited,
    get done() {
      return done;
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!done) child.kill(signal);
      await Promise.race([exited, sleep(5000)]);
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + (o.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (/Server is ready/.test(err)) {
      proc.port = Number(/Listening for client connections on [^\s]*:(\d+)/.exec(err)?.[1] ?? 0);
      proc.monitorPort = Number(/Starting https? monitor on [^\s]*:(\d+)/.exec(err)?.[1] ?? 0);
      return { ready: true, proc };
    }
    if (done || (o.failFast && o.failFast.test(err))) break;
    await sleep(20);
  }
  if (!done) await proc.kill();
  return { ready: false, proc };
}

/** The real nats-server, if installed (differential checks skip without it). */
export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server', process.env.NATS_SERVER_BIN].find(
  (p): p is string => !!p && existsSync(p),
);

/** Spawns the real nats-server with `text` (host/port added) and waits until it is ready. */
export async function spawnNatsServer(dir: string, text: string, timeoutMs = 10_000): Promise<SpawnOutcome> {
  if (!NATS_SERVER) throw new Error('nats-server not installed');
  const confFile = join(dir, `nats-server-${process.pid}-${++spawnSeq}.conf`);
  writeFileSync(confFile, ['host: 127.0.0.1', 'port: -1', text].join('\n') + '\n');
  const child = spawn(NATS_SERVER, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => {
      done = true;
      r({ code, signal });
    }),
  );
  const proc: Child = {
    child,
    pid: child.pid ?? 0,
    out: () => err,
    port: 0,
    monitorPort: 0,
    exited,
    get done() {
      return done;
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!done) child.kill(signal);
      await Promise.race([exited, sleep(5000)]);
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !done) {
    if (/Server is ready/.test(err)) {
      proc.port = Number(/Listening for client connections on [^\s]*:(\d+)/.exec(err)?.[1] ?? 0);
      return { ready: true, proc };
    }
    await sleep(20);
  }
  await proc.kill();
  return { ready: false, proc };
}

/** `GET http://127.0.0.1:<port><path>` as JSON (bounded). */
export async function getJson<T = Record<string, unknown>>(port: number, path: string, timeoutMs = 5000): Promise<T> {
  const ctl = AbortSignal.timeout(timeoutMs);
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: ctl });
  return (await r.json()) as T;
}

// ---------------------------------------------------------------------------------------------
// /proc readers

export interface ProcStats {
  fds: number;
  rssKb: number;
  /** Peak RSS (VmHWM). */
  hwmKb: number;
  threads: number;
}

export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const num = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKb: num('VmRSS'), hwmKb: num('VmHWM'), threads: num('Threads') };
}

// ---------------------------------------------------------------------------------------------
// A TLS client that asks for a staple like a NATS client

export interface Probe {
  /** The DER staple received, or null. */
  staple: Buffer | null;
  /** Status in the staple, if any. */
  status: string | null;
  /** nextUpdate of the staple (ms), if any. */
  nextUpdate: number | null;
  /** Serial of the certificate served (lowercase hex, no leading zeros). */
  serial: string;
  protocol: string | null;
  info: string;
  /** When the TCP connection was started (ms). A staple can only be late if its nextUpdate is ≤ this. */
  startedAt: number;
  /** When the handshake completed (ms). */
  doneAt: number;
}

export interface ProbeOptions {
  ca?: string;
  /** Client certificate for `verify`. */
  cert?: string;
  key?: string;
  servername?: string;
  tls13?: boolean;
  timeoutMs?: number;
  /** Keep the socket open (the caller destroys `socket`). */
  keep?: boolean;
  /** Source address (127.x.y.z), to spread the 4-tuples of a long churn. */
  localAddress?: string;
}

export interface HeldProbe extends Probe {
  socket: tls.TLSSocket;
}

export function normSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

/** INFO, then TLS asking for the certificate status. Rejects if the connection or handshake fails. */
export function probe(port: number, o: ProbeOptions = {}): Promise<HeldProbe> {
  return new Promise((resolveP, reject) => {
    let raw: Socket | undefined;
    let sock: tls.TLSSocket | undefined;
    let settled = false;
    const startedAt = Date.now();
    const timer = setTimeout(() => fail(new Error('probe timed out')), o.timeoutMs ?? 10_000);
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock?.destroy();
      raw?.destroy();
      reject(e);
    };
    raw = netConnect({ port, host: '127.0.0.1', ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    raw.once('error', fail);
    raw.once('close', () => fail(new Error('closed before INFO')));
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\r\n');
      if (nl < 0) {
        if (buf.length > 65536) fail(new Error('no INFO line'));
        return;
      }
      raw!.off('data', onData);
      raw!.removeAllListeners('close');
      const info = buf.slice(0, nl);
      let staple: Buffer | null = null;
      const opts: tls.ConnectionOptions = {
        socket: raw!,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        servername: o.servername ?? 'localhost',
        rejectUnauthorized: !!o.ca,
        minVersion: o.tls13 === true ? 'TLSv1.3' : 'TLSv1.2',
        maxVersion: o.tls13 === false ? 'TLSv1.2' : 'TLSv1.3',
        requestOCSP: true,
      } as tls.ConnectionOptions;
      sock = tls.connect(opts);
      sock.on('OCSPResponse', (r: Buffer) => (staple = r));
      sock.once('error', fail);
      sock.once('close', () => fail(new Error('closed during the TLS handshake')));
      sock.once('secureConnect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock!.removeAllListeners('close');
        sock!.removeListener('error', fail);
        sock!.on('error', () => undefined);
        const peer = sock!.getPeerX509Certificate();
        let status: string | null = null;
        let nextUpdate: number | null = null;
        if (staple) {
          try {
            const p = parseOcspResponse(staple);
            status = p.responses[0]?.status ?? null;
            nextUpdate = p.responses[0]?.nextUpdate ?? null;
          } catch {
            status = 'unparsable';
          }
        }
        const res: HeldProbe = {
          staple,
          status,
          nextUpdate,
          serial: normSerial(peer?.serialNumber ?? ''),
          protocol: sock!.getProtocol(),
          info,
          startedAt,
          doneAt: Date.now(),
          socket: sock!,
        };
        if (!o.keep) sock!.destroy();
        resolveP(res);
      });
    };
    raw.on('data', onData);
  });
}

// ---------------------------------------------------------------------------------------------
// A raw NATS protocol client (plain or TLS), for exact control over what is sent

export class RawClient {
  socket: Socket;
  text = '';
  closed = false;
  readonly closedAt: Promise<number>;
  private onText: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    let resolveClosed!: (t: number) => void;
    this.closedAt = new Promise((r) => (resolveClosed = r));
    const onClose = (): void => {
      if (this.closed) return;
      this.closed = true;
      resolveClosed(Date.now());
      for (const f of this.onText.splice(0)) f();
    };
    this.attach(socket, onClose);
  }

  private attach(s: Socket, onClose: () => void): void {
    s.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      if (this.text.length > 8_000_000) this.text = this.text.slice(-4_000_000);
      for (const f of this.onText.splice(0)) f();
    });
    s.on('error', () => undefined);
    s.on('close', onClose);
  }

  /**
   * Connects; reads INFO; with `tls` upgrades (INFO-first) with the given options. Rejects if the
   * TLS handshake fails.
   */
  static async connect(port: number, o: { tls?: tls.ConnectionOptions; timeoutMs?: number } = {}): Promise<RawClient> {
    const raw = netConnect(port, '127.0.0.1');
    raw.setNoDelay(true);
    await new Promise<void>((res, rej) => {
      raw.once('connect', () => res());
      raw.once('error', rej);
    });
    if (!o.tls) {
      const c = new RawClient(raw);
      await c.waitFor(/^INFO .*\r\n/, o.timeoutMs ?? 5000);
      return c;
    }
    // Read INFO on the raw socket, then upgrade.
    const info = await new Promise<string>((res, rej) => {
      let b = '';
      const t = setTimeout(() => rej(new Error('no INFO')), o.timeoutMs ?? 5000);
      const onData = (d: Buffer): void => {
        b += d.toString('latin1');
        if (b.includes('\r\n')) {
          clearTimeout(t);
          raw.off('data', onData);
          res(b);
        }
      };
      raw.on('data', onData);
      raw.once('close', () => rej(new Error('closed before INFO')));
    });
    const s = tls.connect({ socket: raw, servername: 'localhost', ...o.tls });
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('TLS handshake timed out')), o.timeoutMs ?? 5000);
      s.once('secureConnect', () => {
        clearTimeout(t);
        res();
      });
      s.once('error', (e) => {
        clearTimeout(t);
        rej(e);
      });
      s.once('close', () => {
        clearTimeout(t);
        rej(new Error('closed during the TLS handshake'));
      });
    });
    s.removeAllListeners('close');
    s.removeAllListeners('error');
    const c = new RawClient(s);
    c.text = info;
    return c;
  }

  send(s: string | Buffer): void {
    if (!this.closed) this.socket.write(s);
  }

  /** Resolves with the match once the received text matches; rejects after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs = 5000): Promise<RegExpExecArray> {
    return new Promise((res, rej) => {
      const deadline = Date.now() + timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        const m = re.exec(this.text);
        if (m) {
          if (timer) clearTimeout(timer);
          res(m);
          return;
        }
        if (this.closed || Date.now() >= deadline) {
          if (timer) clearTimeout(timer);
          rej(new Error(`waitFor ${re} ${this.closed ? 'after close' : 'timed out'}; got: ${JSON.stringify(this.text.slice(-500))}`));
          return;
        }
        this.onText.push(check);
      };
      timer = setTimeout(check, timeoutMs);
      check();
    });
  }

  /** PING, and wait for its PONG (everything sent before has been processed). */
  async flush(timeoutMs = 5000): Promise<void> {
    const before = (this.text.match(/PONG\r\n/g) ?? []).length;
    this.send('PING\r\n');
    const deadline = Date.now() + timeoutMs;
    while ((this.text.match(/PONG\r\n/g) ?? []).length <= before) {
      if (this.closed) throw new Error(`closed while flushing; got: ${JSON.stringify(this.text.slice(-300))}`);
      if (Date.now() > deadline) throw new Error('flush timed out');
      await sleep(5);
    }
  }

  /** Resolves true if the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closedAt.then(() => true),
      new Promise<boolean>((res) => (timer = setTimeout(() => res(this.closed), timeoutMs))),
    ]);
    clearTimeout(timer);
    return r;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Does the file exist (follows nothing: lstat). */
export function exists(p: string): boolean {
  return existsSync(p);
}
