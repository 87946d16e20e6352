// Helpers for the stapling integration tests: a PKI whose AIA points at a programmable responder,
// tsnats in-process (startServer) or as a child process (bin/tsnats), the real nats-server, and a
// client that reads INFO, upgrades to TLS asking for a staple, and decodes what it got.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { loadConfigFile } from '../../src/config/index.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { parseOcspResponse, type CertStatusName } from '../../src/ocsp/index.js';
import { createTestPki, startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';

export const BIN = resolve('bin/tsnats');

/** The real nats-server, if installed. */
export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server', process.env.NATS_SERVER_BIN].find(
  (p): p is string => !!p && existsSync(p),
);
export const SKIP_NATS_SERVER = NATS_SERVER ? false : 'nats-server binary not installed (set NATS_SERVER_BIN): differential stapling checks skipped';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Env {
  pki: TestPki;
  responder: TestResponder;
  dir: string;
  close(): Promise<void>;
}

/** A programmable responder signing as the root, and a PKI whose AIA URL points at it. */
export async function setup(): Promise<Env> {
  const responder = await startResponder();
  const pki = await createTestPki({ ocspUrl: responder.url });
  responder.setIssuer(pki.root);
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-stapling-'));
  return {
    pki,
    responder,
    dir,
    async close() {
      await responder.close();
      await pki.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ConfOptions {
  cert: IssuedCert | { certFile: string; keyFile: string };
  /** Use the `<name>-bundle.pem` file (leaf + issuer) as cert_file. Default false (leaf only + ca_file). */
  bundle?: boolean;
  caFile?: string;
  /** Config text for `ocsp` (e.g. `ocsp: false`, `ocsp { mode: must }`); omitted when undefined. */
  ocsp?: string;
  storeDir?: string;
  /** Extra lines inside `tls {}`. */
  tlsExtra?: string;
  /** Extra top-level lines. */
  extra?: string;
}

/** Config text (without host/port). */
export function conf(o: ConfOptions): string {
  const c = o.cert;
  const certFile = o.bundle && 'bundleFile' in c ? c.bundleFile : c.certFile;
  const lines: string[] = [];
  if (o.ocsp) lines.push(o.ocsp);
  if (o.storeDir) lines.push(`store_dir: "${o.storeDir}"`);
  if (o.extra) lines.push(o.extra);
  lines.push('tls {');
  lines.push(`  cert_file: "${certFile}"`);
  lines.push(`  key_file: "${c.keyFile}"`);
  if (o.caFile) lines.push(`  ca_file: "${o.caFile}"`);
  if (o.tlsExtra) lines.push(`  ${o.tlsExtra}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function ocspBlock(mode: string, urls: string[] = []): string {
  const u = urls.length === 1 ? `\n  url: "${urls[0]}"` : urls.length > 1 ? `\n  urls: [${urls.map((x) => `"${x}"`).join(', ')}]` : '';
  return `ocsp {\n  mode: ${mode}${u}\n}`;
}

// ---------------------------------------------------------------------------------------------
// tsnats in-process

export interface Ts extends RunningServer {
  confFile: string;
  logs: string[];
  /** Rewrites the config file and reloads (as SIGHUP does). */
  reloadWith(text: string): Promise<void>;
  stop(): Promise<void>;
}

let seq = 0;

export async function startTs(dir: string, text: string, extra: { monitor?: boolean } = {}): Promise<Ts> {
  const confFile = join(dir, `ts-${process.pid}-${++seq}.conf`);
  const head = `host: 127.0.0.1\nport: -1\n${extra.monitor ? 'https: "127.0.0.1:-1"\n' : ''}`;
  writeFileSync(confFile, head + text);
  const logs: string[] = [];
  const r = await startServer({ configFile: confFile, log: { write: (l) => void logs.push(l), colors: false, debug: true } });
  return {
    ...r,
    confFile,
    logs,
    async reloadWith(t: string) {
      writeFileSync(confFile, head + t);
      await r.server.reload(loadConfigFile(confFile).options);
    },
    stop: () => r.close(),
  };
}

/** startTs, but resolves to the error message when start-up fails. */
export async function startTsOutcome(dir: string, text: string): Promise<{ ok: true; ts: Ts } | { ok: false; error: string }> {
  try {
    return { ok: true, ts: await startTs(dir, text) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes: bin/tsnats and nats-server

export interface Proc {
  child: ChildProcess;
  /** stderr so far. */
  out(): string;
  /** Client port once ready. */
  port: number;
  /** Exit status (null if killed by a signal). */
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

export interface ProcOutcome {
  ready: boolean;
  proc: Proc;
  /** Exit status when it did not become ready. */
  code?: number | null;
}

/** Spawns `bin/tsnats -c` or `nats-server -c` and waits for `Server is ready` or exit. */
export async function spawnServer(which: 'tsnats' | 'nats-server', dir: string, text: string, timeoutMs = 15_000): Promise<ProcOutcome> {
  const confFile = join(dir, `${which}-${process.pid}-${++seq}.conf`);
  writeFileSync(confFile, `host: 127.0.0.1\nport: -1\n${text}`);
  const child =
    which === 'tsnats'
      ? spawn(process.execPath, [BIN, '-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(NATS_SERVER!, ['-c', confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const proc: Proc = {
    child,
    out: () => err,
    port: 0,
    exited,
    async kill() {
      if (!done) child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (/Server is ready/.test(err)) {
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(err);
      proc.port = Number(m?.[1] ?? 0);
      return { ready: true, proc };
    }
    if (done) return { ready: false, proc, code: await exited };
    await sleep(20);
  }
  await proc.kill();
  return { ready: false, proc, code: await exited };
}

// ---------------------------------------------------------------------------------------------
// TLS client

export interface Staple {
  der: Buffer;
  status: CertStatusName;
  /** Lowercase hex serial of the CertID, without leading zeros. */
  serial: string;
}

export interface Probe {
  /** DER of the certificate served. */
  cert: Buffer;
  serial: string;
  staple: Staple | null;
  protocol: string | null;
  info: string;
}

export function decodeStaple(der: Buffer): Staple {
  const p = parseOcspResponse(der);
  const r = p.responses[0]!;
  return { der, status: r.status, serial: normSerial(r.certId.serial.toString('hex')) };
}

export function normSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}

export interface ProbeOptions {
  ca?: string;
  tls13?: boolean;
  servername?: string;
  /** handshake_first: TLS right away (no INFO before). */
  handshakeFirst?: boolean;
  /** Plain TLS (HTTPS monitor). */
  direct?: boolean;
  timeoutMs?: number;
  /** INFO-first only: runs after INFO has arrived, before the ClientHello is sent. */
  beforeHello?: () => Promise<void>;
}

/** Connects like a NATS client (INFO, then TLS), asking for a staple. Rejects if the handshake fails. */
export function probe(port: number, o: ProbeOptions = {}): Promise<Probe> {
  return new Promise((resolveP, reject) => {
    let raw: Socket | undefined;
    const timer = setTimeout(() => {
      raw?.destroy();
      reject(new Error('probe timed out'));
    }, o.timeoutMs ?? 10_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      raw?.destroy();
      reject(e);
    };
    const upgrade = (info: string, socket?: Socket): void => {
      let staple: Buffer | null = null;
      const opts: tls.ConnectionOptions = {
        ca: o.ca,
        servername: o.servername ?? 'localhost',
        rejectUnauthorized: !!o.ca,
        minVersion: o.tls13 === true ? 'TLSv1.3' : 'TLSv1.2',
        maxVersion: o.tls13 === false ? 'TLSv1.2' : 'TLSv1.3',
      };
      if (socket) opts.socket = socket;
      else {
        opts.host = '127.0.0.1';
        opts.port = port;
      }
      (opts as Record<string, unknown>).requestOCSP = true;
      const s = tls.connect(opts);
      s.on('OCSPResponse', (r: Buffer) => (staple = r));
      s.once('error', fail);
      s.once('secureConnect', () => {
        clearTimeout(timer);
        const peer = s.getPeerX509Certificate();
        const res: Probe = {
          cert: peer?.raw ?? Buffer.alloc(0),
          serial: normSerial(peer?.serialNumber ?? ''),
          staple: staple ? decodeStaple(staple) : null,
          protocol: s.getProtocol(),
          info,
        };
        s.destroy();
        resolveP(res);
      });
    };
    if (o.direct || o.handshakeFirst) {
      upgrade('');
      return;
    }
    raw = netConnect(port, '127.0.0.1');
    raw.once('error', fail);
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      raw!.off('data', onData);
      const info = buf.slice(0, nl);
      if (o.beforeHello) o.beforeHello().then(() => upgrade(info, raw), fail);
      else upgrade(info, raw);
    };
    raw.on('data', onData);
  });
}

/** Polls `fn` until it returns true (bounded). */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return fn();
}
