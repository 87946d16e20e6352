/**
 * Helpers around the `openssl` CLI (OpenSSL 3.x) for cross-checking tsnats' OCSP stapling with an
 * independent implementation.
 *
 * Every helper is async, runs openssl with a timeout, never binds anything but 127.0.0.1, and
 * cleans up its temporary files. Tests should guard with `opensslAvailable()` and skip with
 * `OPENSSL_MISSING` as the reason when it returns false.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Skip reason for tests that need the openssl CLI. */
export const OPENSSL_MISSING = 'openssl CLI not found on PATH: skipping the openssl cross-check';

let available: boolean | undefined;
let versionText: string | undefined;

/** Whether an `openssl` binary is on PATH (result cached). */
export function opensslAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync('openssl', ['version'], { encoding: 'utf8', timeout: 5000 });
    available = r.status === 0 && /OpenSSL/i.test(r.stdout);
    versionText = available ? r.stdout.trim() : undefined;
  }
  return available;
}

/** `openssl version` output, or undefined when openssl is missing. */
export function opensslVersion(): string | undefined {
  opensslAvailable();
  return versionText;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Run `openssl <args>`; resolves (never rejects on a non-zero exit) with the outputs. */
export function runOpenssl(
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 15_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    // EPIPE if openssl exits before reading stdin: harmless.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tsnats-openssl-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// OCSP text parsing (shared by s_client, `ocsp -respin` and `ocsp -url` output)
// ---------------------------------------------------------------------------------------------

export type CertStatus = 'good' | 'revoked' | 'unknown';

export interface ParsedOcspText {
  /** `OCSP Response Status: successful (0x0)` → `successful`. */
  responseStatus?: string;
  certStatus?: CertStatus;
  thisUpdate?: Date;
  nextUpdate?: Date;
  revocationTime?: Date;
  revocationReason?: string;
}

function parseDate(s: string | undefined): Date | undefined {
  if (!s) return undefined;
  const d = new Date(s.trim().replace(/\s+/g, ' '));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Parse the OCSP fields that `openssl` prints (`-resp_text`, s_client `-status`, client status lines). */
export function parseOcspText(text: string): ParsedOcspText {
  const r: ParsedOcspText = {};
  const m = (re: RegExp) => re.exec(text)?.[1]?.trim();
  r.responseStatus = m(/OCSP Response Status:\s*([A-Za-z]+)/);
  const st = m(/Cert Status:\s*(good|revoked|unknown)/) ?? m(/:\s*(good|revoked|unknown)\s*$/m);
  if (st) r.certStatus = st as CertStatus;
  r.thisUpdate = parseDate(m(/This Update:\s*(.+)/));
  r.nextUpdate = parseDate(m(/Next Update:\s*(.+)/));
  r.revocationTime = parseDate(m(/Revocation Time:\s*(.+)/));
  r.revocationReason = m(/^\s*(?:Revocation )?Reason:\s*([A-Za-z]+)/m);
  for (const k of Object.keys(r) as (keyof ParsedOcspText)[]) if (r[k] === undefined) delete r[k];
  return r;
}

// ---------------------------------------------------------------------------------------------
// NATS INFO-first relay
// ---------------------------------------------------------------------------------------------

export interface InfoRelay {
  /** 127.0.0.1 port to point a plain TLS client at. */
  port: number;
  /** INFO lines received from the server (without CRLF), one per relayed connection. */
  infoLines: string[];
  close(): Promise<void>;
}

const MAX_INFO_LINE = 64 * 1024;

/**
 * A 127.0.0.1 TCP relay for NATS' "INFO first, then TLS" upgrade: for each client connection it
 * connects to the target, reads and discards the server's plaintext `INFO {...}\r\n` line, then
 * pipes bytes both ways, so an ordinary TLS client (openssl s_client, tls.connect) can handshake
 * through it. Client bytes are held back until the INFO line has been consumed.
 */
export async function startNatsInfoRelay(target: { host?: string; port: number }): Promise<InfoRelay> {
  const sockets = new Set<net.Socket>();
  const infoLines: string[] = [];
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const up = net.connect({ host: target.host ?? '127.0.0.1', port: target.port });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    const fail = () => {
      client.destroy();
      up.destroy();
    };
    client.on('error', fail);
    up.on('error', fail);
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf('\r\n');
      if (nl < 0) {
        if (buf.length > MAX_INFO_LINE) fail();
        return;
      }
      up.off('data', onData);
      infoLines.push(buf.subarray(0, nl).toString('utf8'));
      const rest = buf.subarray(nl + 2);
      if (rest.length > 0) client.write(rest);
      up.pipe(client);
      client.pipe(up);
      client.resume();
    };
    up.on('data', onData);
    up.on('end', () => client.end());
    client.on('end', () => up.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    infoLines,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// s_client -status
// ---------------------------------------------------------------------------------------------

export interface SClientOptions {
  /** Server address to connect to (directly, or from the relay). Default 127.0.0.1. */
  host?: string;
  port: number;
  /** Trust anchors for the `Verify return code` line. */
  caFile?: string;
  /** SNI. */
  servername?: string;
  /** true: `-tls1_3` only; false: `-tls1_2` only; undefined: negotiate. */
  tls13?: boolean;
  /** Server sends a plaintext NATS `INFO` line before TLS: go through an INFO-skipping relay. */
  natsInfoFirst: boolean;
  /** Client certificate (for servers that require mTLS). */
  certFile?: string;
  keyFile?: string;
  timeoutMs?: number;
}

export interface SClientResult extends ParsedOcspText {
  /** The TLS handshake completed (a cipher was negotiated). */
  handshake: boolean;
  /** A stapled OCSP response was received (false for `OCSP response: no response sent`). */
  ocspResponseReceived: boolean;
  /** Negotiated protocol, e.g. `TLSv1.3`. */
  protocol?: string;
  /** `Verify return code: N (...)`. */
  verifyCode?: number;
  verifyText?: string;
  /** The INFO line skipped by the relay (natsInfoFirst only). */
  infoLine?: string;
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/**
 * `openssl s_client -status -connect 127.0.0.1:<port>` (through the INFO relay when `natsInfoFirst`)
 * and report whether an OCSP response was stapled and what it said. Does not verify the staple:
 * use `opensslOcspVerify` for that.
 */
export async function sClientStatus(opts: SClientOptions): Promise<SClientResult> {
  const host = opts.host ?? '127.0.0.1';
  const relay = opts.natsInfoFirst ? await startNatsInfoRelay({ host, port: opts.port }) : undefined;
  try {
    const args = ['s_client', '-connect', relay ? `127.0.0.1:${relay.port}` : `${host}:${opts.port}`, '-status'];
    if (opts.caFile) args.push('-CAfile', opts.caFile);
    if (opts.servername) args.push('-servername', opts.servername);
    else args.push('-noservername');
    if (opts.tls13 === true) args.push('-tls1_3');
    if (opts.tls13 === false) args.push('-tls1_2');
    if (opts.certFile) args.push('-cert', opts.certFile);
    if (opts.keyFile) args.push('-key', opts.keyFile);
    // stdin is closed right away: s_client finishes the handshake, prints it, and disconnects.
    const r = await runOpenssl(args, { timeoutMs: opts.timeoutMs ?? 15_000 });
    const out = r.stdout;
    const noResponse = /OCSP response: no response sent/.test(out);
    const block = /OCSP response:\s*\n=+\n([\s\S]*?)\n=+/.exec(out)?.[1];
    const cipher = /(?:New|Reused), (\S+), Cipher is (\S+)/.exec(out);
    const verify = /Verify return code: (\d+) \(([^)]*)\)/.exec(out);
    const res: SClientResult = {
      ...(block ? parseOcspText(block) : {}),
      handshake: !!cipher && cipher[2] !== '(NONE)',
      ocspResponseReceived: !noResponse && !!block,
      stdout: out,
      stderr: r.stderr,
      exitCode: r.code,
    };
    const proto = /^\s*Protocol\s*:\s*(\S+)/m.exec(out)?.[1] ?? (cipher && cipher[1] !== '(NONE)' ? cipher[1] : undefined);
    if (proto) res.protocol = proto;
    if (verify) {
      res.verifyCode = Number(verify[1]);
      res.verifyText = verify[2];
    }
    if (relay && relay.infoLines.length > 0) res.infoLine = relay.infoLines[0];
    return res;
  } finally {
    await relay?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// ocsp -respin (verify a response) and ocsp -url (real client)
// ---------------------------------------------------------------------------------------------

export interface OcspCheckResult extends ParsedOcspText {
  /** openssl printed `Response verify OK` (signature, signer authorisation and chain all fine). */
  verified: boolean;
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

function toOcspCheckResult(r: RunResult): OcspCheckResult {
  const text = `${r.stdout}\n${r.stderr}`;
  return {
    ...parseOcspText(r.stdout),
    verified: /Response verify OK/.test(text),
    stdout: r.stdout,
    stderr: r.stderr,
    exitCode: r.code,
  };
}

export interface OcspVerifyOptions {
  /** Trust anchors (PEM text). Default: `issuerPem`, which must then be a self-signed root. */
  caPem?: string;
  /** Extra untrusted certificates for building the signer's chain (PEM text), e.g. an intermediate. */
  untrustedPem?: string;
  /** Maximum clock skew in seconds (`-validity_period`). Default: openssl's (5 min). */
  validityPeriodSec?: number;
  /** Maximum age in seconds for responses without nextUpdate (`-status_age`). */
  statusAgeSec?: number;
  /** Hash of the CertID to look `cert` up with; must match the response's CertID. Default sha1. */
  certIdDigest?: 'sha1' | 'sha256';
}

/**
 * `openssl ocsp -respin resp.der -issuer issuer.pem -cert cert.pem -CAfile ca.pem`: is the response
 * valid for `cert` in openssl's eyes? `verified` covers signature/signer/chain; `certStatus`,
 * `thisUpdate`, `nextUpdate` come from the status line for `cert` (absent when the response has
 * no entry for it). A response outside its validity window prints a WARNING/error but still
 * verifies; check the dates yourself if that matters.
 */
export async function opensslOcspVerify(
  responseDer: Uint8Array,
  issuerPem: string,
  certPem: string,
  opts: OcspVerifyOptions = {},
): Promise<OcspCheckResult> {
  return withTempDir(async (dir) => {
    const f = (n: string) => join(dir, n);
    await writeFile(f('resp.der'), responseDer);
    await writeFile(f('issuer.pem'), issuerPem);
    await writeFile(f('cert.pem'), certPem);
    await writeFile(f('ca.pem'), opts.caPem ?? issuerPem);
    const args = ['ocsp', '-respin', f('resp.der'), '-issuer', f('issuer.pem')];
    if (opts.certIdDigest) args.push(`-${opts.certIdDigest}`); // applies to the following -cert
    args.push('-cert', f('cert.pem'), '-CAfile', f('ca.pem'));
    if (opts.untrustedPem) {
      await writeFile(f('untrusted.pem'), opts.untrustedPem);
      args.push('-verify_other', f('untrusted.pem'));
    }
    if (opts.validityPeriodSec !== undefined) args.push('-validity_period', String(opts.validityPeriodSec));
    if (opts.statusAgeSec !== undefined) args.push('-status_age', String(opts.statusAgeSec));
    return toOcspCheckResult(await runOpenssl(args));
  });
}

/**
 * The real openssl OCSP client: `openssl ocsp -url <url> -issuer <issuerFile> -cert <certFile>
 * -CAfile <caFile>` (POST, with a nonce unless `noNonce`).
 */
export async function opensslOcspQuery(opts: {
  url: string;
  issuerFile: string;
  certFile: string;
  caFile: string;
  untrustedFile?: string;
  noNonce?: boolean;
  timeoutSec?: number;
}): Promise<OcspCheckResult> {
  const args = ['ocsp', '-url', opts.url, '-issuer', opts.issuerFile, '-cert', opts.certFile, '-CAfile', opts.caFile];
  if (opts.untrustedFile) args.push('-verify_other', opts.untrustedFile);
  if (opts.noNonce) args.push('-no_nonce');
  args.push('-timeout', String(opts.timeoutSec ?? 10));
  return toOcspCheckResult(await runOpenssl(args, { timeoutMs: ((opts.timeoutSec ?? 10) + 5) * 1000 }));
}

/** A DER OCSPRequest for `certFile` built by openssl (`ocsp -reqout`); no nonce unless asked. */
export async function opensslOcspRequest(opts: { issuerFile: string; certFile: string; nonce?: boolean; sha256CertId?: boolean }): Promise<Buffer> {
  return withTempDir(async (dir) => {
    const out = join(dir, 'req.der');
    const args = ['ocsp', '-issuer', opts.issuerFile, '-cert', opts.certFile, '-reqout', out, opts.nonce ? '-nonce' : '-no_nonce'];
    if (opts.sha256CertId) args.splice(1, 0, '-sha256');
    const r = await runOpenssl(args);
    if (r.code !== 0) throw new Error(`openssl ocsp -reqout failed: ${r.stderr}`);
    return readFile(out);
  });
}

/** `openssl verify -CAfile <caFile> [-untrusted <untrustedFile>] <certFile>`: true on `OK`. */
export async function opensslVerify(opts: {
  caFile: string;
  certFile: string;
  untrustedFile?: string;
  purpose?: 'sslserver' | 'sslclient' | 'ocsphelper' | 'any';
}): Promise<{ ok: boolean; output: string }> {
  const args = ['verify', '-CAfile', opts.caFile];
  if (opts.untrustedFile) args.push('-untrusted', opts.untrustedFile);
  if (opts.purpose) args.push('-purpose', opts.purpose);
  args.push(opts.certFile);
  const r = await runOpenssl(args);
  const output = `${r.stdout}${r.stderr}`;
  return { ok: r.code === 0 && /: OK\s*$/m.test(r.stdout), output };
}

/** `openssl x509 -noout -text` of a certificate file. */
export async function opensslX509Text(certFile: string): Promise<string> {
  const r = await runOpenssl(['x509', '-in', certFile, '-noout', '-text']);
  if (r.code !== 0) throw new Error(`openssl x509 failed: ${r.stderr}`);
  return r.stdout;
}
