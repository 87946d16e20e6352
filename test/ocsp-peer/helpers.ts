// Helpers for the ocsp_peer tests: a PKI whose AIA points at a programmable responder, tsnats
// in-process with a client `tls {}` block that verifies client certificates and checks them with
// OCSP, and real TLS clients (raw node:tls after the plaintext INFO, and the official nats.js).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { createTestPki, startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { startTs, type Ts } from '../stapling/helpers.js';

export { startTs, type Ts };

export interface PeerEnv {
  pki: TestPki;
  /** Answers for certificates issued by the root (the clients', the intermediate's). */
  responder: TestResponder;
  /** Answers for certificates issued by the intermediate. */
  intResponder: TestResponder;
  dir: string;
  /** clientAuth, issued by root, AIA → responder. */
  good: IssuedCert;
  /** Issued by the intermediate (AIA → intResponder); its bundle holds the intermediate. */
  viaInt: IssuedCert;
  close(): Promise<void>;
}

export async function setupPeer(): Promise<PeerEnv> {
  const responder = await startResponder();
  const intResponder = await startResponder();
  const pki = await createTestPki({ ocspUrl: responder.url });
  responder.setIssuer(pki.root);
  intResponder.setIssuer(pki.intermediate);
  const good = await pki.issue('peer-client', { eku: ['clientAuth'], subject: 'CN=peer-client, O=tsnats testkit' });
  const viaInt = await pki.issue('peer-via-int', { issuer: pki.intermediate, eku: ['clientAuth'], ocspUrls: [intResponder.url] });
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-ocsp-peer-'));
  return {
    pki,
    responder,
    intResponder,
    dir,
    good,
    viaInt,
    async close() {
      await responder.close();
      await intResponder.close();
      await pki.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Server config text: client tls with verify and the given `ocsp_peer` value (text after the colon or a block). */
export function peerConf(env: PeerEnv, ocspPeer: string | undefined, extra = ''): string {
  const lines = [`store_dir: "${env.dir}"`, extra, 'tls {', `  cert_file: "${env.pki.server.certFile}"`, `  key_file: "${env.pki.server.keyFile}"`, `  ca_file: "${env.pki.caFile}"`, '  verify: true'];
  if (ocspPeer !== undefined) lines.push(`  ocsp_peer: ${ocspPeer}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export async function startPeerServer(env: PeerEnv, ocspPeer: string | undefined, extra = ''): Promise<Ts> {
  return startTs(env.dir, peerConf(env, ocspPeer, extra));
}

export interface RawResult {
  /** Got a PONG to CONNECT+PING: the server gave it a session. */
  admitted: boolean;
  /** TLS handshake completed (Node cannot fail it after chain verification). */
  secure: boolean;
  /** Everything the server sent after TLS. */
  received: string;
  ms: number;
}

/**
 * A raw NATS-over-TLS client: reads INFO, upgrades, sends `payload` (default CONNECT+PING) at once,
 * and waits for PONG or the close (at most `timeoutMs`).
 */
export function rawClient(
  port: number,
  cert: IssuedCert,
  env: PeerEnv,
  opts: { payload?: string; timeoutMs?: number; useBundle?: boolean } = {},
): Promise<RawResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const raw = netConnect(port, '127.0.0.1');
    let buf = '';
    let received = '';
    let secure = false;
    let done = false;
    let sock: tls.TLSSocket | undefined;
    const finish = (admitted: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock?.destroy();
      raw.destroy();
      resolve({ admitted, secure, received, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 8000);
    raw.on('error', () => finish(false));
    const onInfo = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (!buf.includes('\r\n')) return;
      raw.removeListener('data', onInfo);
      raw.pause();
      sock = tls.connect({
        socket: raw,
        cert: readFileSync(opts.useBundle ? cert.bundleFile : cert.certFile),
        key: readFileSync(cert.keyFile),
        ca: readFileSync(env.pki.caFile),
        servername: 'localhost',
      });
      sock.on('secureConnect', () => {
        secure = true;
        sock!.write(opts.payload ?? 'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
      });
      sock.on('data', (x: Buffer) => {
        received += x.toString('latin1');
        if (received.includes('PONG\r\n')) finish(true);
      });
      sock.on('error', () => finish(false));
      sock.on('close', () => finish(false));
    };
    raw.on('data', onInfo);
  });
}

/** The official client with a client certificate; resolves to the connection or the error. */
export async function natsClient(port: number, cert: IssuedCert, env: PeerEnv, bundle = false): Promise<NatsConnection | Error> {
  try {
    return await natsConnect({
      servers: `127.0.0.1:${port}`,
      tls: { certFile: bundle ? cert.bundleFile : cert.certFile, keyFile: cert.keyFile, caFile: env.pki.caFile },
      reconnect: false,
      timeout: 5000,
    });
  } catch (e) {
    return e as Error;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** GET a monitoring endpoint of an in-process server (plain http). */
export async function monitorJson(port: number, path: string): Promise<Record<string, unknown>> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return (await r.json()) as Record<string, unknown>;
}
