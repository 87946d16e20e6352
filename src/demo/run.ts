// The `npm run demo` scenario: a throwaway PKI and OCSP responder, tsnats in OCSP mode `must`
// as a real child process, a client that checks the staple with the engine's own verifier,
// /ocspz, one message over TLS, then a revocation that makes the server shut down with exit
// status 20. Every fact printed is also checked; the first check that fails ends the demo.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseCertificate, parseOcspResponse, verifyOcspResponse, type CertificateInfo } from '../ocsp/index.js';
import { ExitCode } from '../server/server.js';
import { TSNATS_VERSION } from '../server/info.js';
import { createTestPki, normalizeSerialHex, startResponder } from '../testkit/index.js';
import type { Cleanup } from './cleanup.js';
import { getJson, httpGet, ocspMetricsExcerpt, ocspzClientEntry, ocspzListeners, pick } from './monitor.js';
import { connectRequestingStaple, handshakeNats, rawPubSub } from './nats-tls.js';
import { describeExit, ServerProcess, shortLogLine, TSNATS_BIN } from './server-process.js';
import { seconds, when, type Narrator } from './term.js';

/** Validity of each OCSP response: short, so the server's refresh (at ~40-50 %) comes within seconds. */
export const VALIDITY_MS = 8_000;
const SUBJECT = 'demo.greeting';
const PAYLOAD = 'hello from a server with a verified OCSP staple';
export const STEPS = 6;

/** A check that failed: the demo stops and exits non-zero with this message. */
export class DemoFailure extends Error {}

export interface DemoContext {
  n: Narrator;
  cleanup: Cleanup;
  /** Leave the temp dir (PKI, config, staple cache) for inspection. */
  keep: boolean;
  /** Set while the demo runs, for the error report (server log tail). */
  server?: ServerProcess;
  tmp?: string;
  /**
   * Break something on purpose, to see (and test) the failure path: `responder-down` makes the
   * responder answer HTTP 503, so tsnats refuses to start in mode must. From TSNATS_DEMO_FAULT.
   */
  fault?: string;
  /** Wait for Enter before revoking, so the user can look at the running server. */
  pause?: boolean;
  /** Becomes true on Ctrl-C: stop reporting, just clean up. */
  interrupted?: boolean;
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new DemoFailure(message);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new DemoFailure(`timed out after ${ms / 1000}s waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function hexPreview(hex: string): string {
  return hex.length > 24 ? `${hex.slice(0, 16)}…${hex.slice(-6)}` : hex;
}

export async function runDemo(ctx: DemoContext): Promise<void> {
  const { n, cleanup } = ctx;
  const started = Date.now();

  n.title(`tsnats ${TSNATS_VERSION}: OCSP stapling demo (mode must, Must-Staple certificate, store_dir)`);
  n.info('Everything runs on 127.0.0.1 with random ports, in a temporary folder that is removed at the end.');

  // ---------------------------------------------------------------------------------------------
  n.begin('Create a throwaway PKI and start an OCSP responder');
  const tmp = mkdtempSync(join(tmpdir(), 'tsnats-demo-'));
  ctx.tmp = tmp;
  cleanup.add('remove the temp dir', () => {
    if (ctx.keep) n.line(`Kept ${tmp} (--keep): remove it with  rm -rf ${quote(tmp)}`);
    else rmSync(tmp, { recursive: true, force: true });
  });
  const responder = await startResponder({ host: '127.0.0.1' });
  cleanup.add('stop the OCSP responder', () => responder.close());
  const pki = await createTestPki({ ocspUrl: responder.url, dir: join(tmp, 'pki') });
  // Responses are signed by a delegated responder certificate that the CA issued for OCSP only.
  responder.setIssuer(pki.root, pki.responder);
  responder.setValidity({ nextUpdateMs: VALIDITY_MS });
  if (ctx.fault === 'responder-down') {
    responder.setFault({ type: 'http-status', status: 503 });
    n.info(n.style('TSNATS_DEMO_FAULT=responder-down: the responder answers HTTP 503 to everything', 'yellow'));
  } else if (ctx.fault) {
    throw new DemoFailure(`unknown TSNATS_DEMO_FAULT ${JSON.stringify(ctx.fault)} (known: responder-down)`);
  }
  const cert = pki.serverMustStaple;
  const leafInfo = parseCertificate(cert.der);
  const caInfo = parseCertificate(pki.root.der);
  check(leafInfo.mustStaple, 'the server certificate has no Must-Staple (TLS Feature status_request) extension');
  n.fact('temp dir', `${tmp}  ($TMP below)`);
  const short = (line: string): string => shortLogLine(line).replaceAll(tmp, '$TMP');
  n.fact('CA', caInfo.subject);
  n.fact('server cert', `${leafInfo.subject}, serial ${hexPreview(leafInfo.serialHex)}, SAN localhost 127.0.0.1`);
  n.fact('Must-Staple', 'yes (TLS Feature extension: status_request)');
  n.fact('OCSP URL (AIA)', leafInfo.ocspUrls.join(', '));
  n.fact('responder', `${responder.url}  signs as ${parseCertificate(pki.responder.der).subject} (delegated, EKU OCSPSigning)`);
  n.fact('validity', `each response is valid ${seconds(VALIDITY_MS)}, so the server refreshes it every ${seconds(VALIDITY_MS * 0.4)}-${seconds(VALIDITY_MS * 0.5)} (40-50 % of the window)`);
  n.notice('a Must-Staple certificate tells clients to expect a staple; in mode must, tsnats refuses to serve without one.');

  // ---------------------------------------------------------------------------------------------
  n.begin('Start tsnats (OCSP mode must, store_dir) as a child process');
  const storeDir = join(tmp, 'store');
  const confFile = join(tmp, 'tsnats.conf');
  // [setting, comment]: written with real paths, shown with $TMP, comments aligned in both.
  const confLines: [string, string?][] = [
    ['# tsnats demo: stapling in mode must'],
    ['host: 127.0.0.1'],
    ['port: -1', 'random port'],
    ['http: "127.0.0.1:-1"', 'monitoring: /varz /ocspz /metrics'],
    [`ports_file_dir: ${quote(tmp)}`],
    [`store_dir: ${quote(storeDir)}`, 'staples are cached in <store_dir>/ocsp/'],
    ['ocsp { mode: must }', 'staple, and shut down if the certificate is revoked'],
    ['tls {'],
    [`  cert_file: ${quote(cert.bundleFile)}`],
    [`  key_file: ${quote(cert.keyFile)}`],
    [`  ca_file: ${quote(pki.caFile)}`],
    ['  timeout: 5'],
    ['}'],
  ];
  const render = (map: (s: string) => string): string => {
    const width = Math.max(...confLines.filter(([, c]) => c).map(([l]) => map(l).length)) + 2;
    return confLines.map(([l, c]) => (c ? `${map(l).padEnd(width)}# ${c}` : map(l))).join('\n');
  };
  writeFileSync(confFile, `${render((l) => l)}\n`);
  n.info(`${basename(confFile)}:`);
  n.verbatim(render((l) => l.replaceAll(tmp, '$TMP')));
  const bin = relative(process.cwd(), TSNATS_BIN);
  n.fact('command', `node ${bin.startsWith('..') ? TSNATS_BIN : bin} -c $TMP/${basename(confFile)}`);
  const server = new ServerProcess(confFile, tmp, tmp);
  ctx.server = server;
  cleanup.add('stop tsnats', () => server.stop());
  const ports = await server.waitReady(15_000);
  const natsUrl = new URL(ports.nats[0] ?? '');
  const port = Number(natsUrl.port);
  const monitorUrl = ports.monitoring?.[0]?.replace(/\/$/, '');
  check(port > 0, `no client port in the ports file: ${JSON.stringify(ports)}`);
  check(monitorUrl, `no monitoring URL in the ports file: ${JSON.stringify(ports)}`);
  n.fact('pid', String(server.pid));
  n.fact('clients', `${natsUrl.protocol}//127.0.0.1:${port}`);
  n.fact('monitoring', monitorUrl);
  n.info('server log (OCSP lines):');
  const interesting = /OCSP|Server is ready|TLS required/;
  n.verbatim(
    server.lines
      .filter((l) => interesting.test(l))
      .map(short)
      .join('\n'),
  );
  const enabled = server.findLine(/OCSP Stapling enabled/);
  const firstGood = server.findLine(/OCSP status for Client certificate.*: good/);
  check(firstGood, 'tsnats started without logging a good OCSP status for its certificate (is OCSP stapling wired into the server?)');
  check(enabled, 'tsnats did not log "OCSP Stapling enabled for Client connections"');
  const readyAt = server.lines.findIndex((l) => l.includes('Server is ready'));
  check(readyAt < 0 || server.lines.indexOf(firstGood) < readyAt, 'the first staple was logged after "Server is ready"');
  const cacheFile = join(storeDir, 'ocsp', leafInfo.sha256);
  await server.waitFor('the staple cache file', 3000, () => (existsSync(cacheFile) ? true : undefined)).catch(() => undefined);
  check(existsSync(cacheFile), `no staple cached at ${cacheFile}`);
  const cached = readFileSync(cacheFile);
  n.ok(`first staple fetched before "Server is ready", and cached: store/ocsp/${hexPreview(leafInfo.sha256)} (${cached.length} bytes, mode ${(statSync(cacheFile).mode & 0o777).toString(8)})`);
  n.notice('the OCSP status line comes before "Server is ready": no client is ever served without a staple.');

  // ---------------------------------------------------------------------------------------------
  n.begin('Connect a client that asks for the staple, and verify it');
  n.info(`plain TCP to 127.0.0.1:${port}, read INFO, then tls.connect({ requestOCSP: true }) trusting only the demo CA`);
  const conn = await connectRequestingStaple('127.0.0.1', port, pki.root.certPem);
  let leaf: CertificateInfo;
  try {
    n.fact('INFO', `server_name ${String(conn.info.server_name ?? '?')}, version ${String(conn.info.version ?? '?')}, tls_required ${String(conn.info.tls_required)}`);
    n.fact('TLS', `${conn.protocol}, ${conn.cipher}, certificate chain verified against the demo CA`);
    check(conn.staple, 'the server sent no OCSP staple in the TLS handshake');
    const staple = conn.staple;
    leaf = parseCertificate(conn.peerCertDer);
    n.ok(`staple received: ${staple.length} bytes of DER (an OCSPResponse), for the certificate presented in this handshake`);
    const parsed = parseOcspResponse(staple);
    const single = parsed.responses[0];
    // The engine's own strict verifier: CertID (issuer hashes + serial), signer and its
    // authorisation by the CA, signature, and current times. It throws on any failed check.
    let v: ReturnType<typeof verifyOcspResponse>;
    try {
      v = verifyOcspResponse(staple, { leaf, issuer: caInfo });
    } catch (err) {
      throw new DemoFailure(`the staple does not verify: ${(err as Error).message}`);
    }
    n.fact('status', v.status);
    n.fact('CertID serial', `${hexPreview(single ? single.certId.serial.toString('hex') : '?')} = serial of the presented certificate`);
    n.fact('signed by', `${v.signerSubject} (${v.signer === 'delegate' ? 'delegated responder, issued by the CA, EKU OCSPSigning' : 'the issuing CA'})`);
    n.fact('produced at', when(v.producedAt));
    n.fact('this update', when(v.thisUpdate));
    n.fact('next update', when(v.nextUpdate));
    check(v.status === 'good', `the staple says ${v.status}, expected good`);
    check(leaf.sha256 === leafInfo.sha256, 'the server presented another certificate than the demo configured');
    n.ok('staple verified by tsnats/ocsp verifyOcspResponse: status good, CertID matches, signer authorised, times current');
    const pong = await handshakeNats(conn, 'tsnats-demo-staple-check');
    n.ok(`NATS on the same connection: CONNECT + PING → ${pong}`);
  } finally {
    conn.close();
  }
  n.notice('the staple arrives inside the TLS handshake: the client did not have to contact the responder itself.');

  // ---------------------------------------------------------------------------------------------
  n.begin('Ask the server what it knows: /ocspz');
  const ocspzUrl = `${monitorUrl}/ocspz`;
  n.info(`curl -s ${ocspzUrl}`);
  const body = await getJson(ocspzUrl);
  const entry = ocspzClientEntry(body, leafInfo.sha256);
  check(entry, `/ocspz lists no certificate: ${JSON.stringify(body).slice(0, 200)}`);
  const s = (p: string): string => {
    const x = pick(entry, p);
    return x === undefined || x === null ? '-' : String(x);
  };
  n.fact('mode', `${String(body.mode ?? s('mode'))}  (worst_status ${String(body.worst_status ?? '?')}, ${String(body.num_stapled ?? '?')} stapled)`);
  n.fact('certificate', `${basename(s('certificate'))}  (listener ${ocspzListeners(entry).join(', ') || '-'})`);
  n.fact('status', `${s('status')}  (source ${s('source')}, warning ${s('warning')})`);
  n.fact('serial', hexPreview(s('serial')));
  n.fact('next_update', `${when(pick(entry, 'next_update') as string | undefined)}, validity ${s('validity_seconds')}s`);
  n.fact('next_refresh', when(pick(entry, 'next_refresh') as string | undefined));
  const la = pick(entry, 'last_attempt');
  if (la) n.fact('last_attempt', `${s('last_attempt.method')} ${s('last_attempt.url')} → HTTP ${s('last_attempt.http_status')} in ${s('last_attempt.duration_ms')}ms`);
  n.fact('counters', `fetches_ok ${s('counters.fetches_ok')}, fetches_failed ${s('counters.fetches_failed')}, handshakes_stapled ${s('counters.handshakes_stapled')}`);
  check(pick(entry, 'status') === 'good', `/ocspz says status ${s('status')}, expected good`);
  n.ok('/ocspz reports status good for the client certificate');
  const varz = await getJson(`${monitorUrl}/varz`).catch(() => undefined);
  if (varz?.ocsp !== undefined) n.fact('/varz .ocsp', JSON.stringify(varz.ocsp));
  const metrics = await httpGet(`${monitorUrl}/metrics`).catch(() => undefined);
  const excerpt = metrics?.status === 200 ? ocspMetricsExcerpt(metrics.body) : [];
  if (excerpt.length > 0) {
    n.info(`curl -s ${monitorUrl}/metrics | grep tsnats_ocsp    (excerpt, labels elided)`);
    n.verbatim(excerpt.join('\n'));
  }
  n.notice('status, validity and the next refresh are visible without reading logs: alert on them.');

  // ---------------------------------------------------------------------------------------------
  n.begin('Publish and subscribe one message over TLS');
  const via = await pubSub(port, pki.root.certPem, n);
  n.ok(`received on ${SUBJECT}: "${via.received}"  (${via.client})`);
  n.notice('a regular NATS server: the official client connects over TLS with no OCSP-specific settings.');

  if (ctx.pause) {
    n.line();
    n.line(n.style('Paused (--pause): tsnats keeps running and refreshing its staple. Try in another terminal:', 'bold'));
    n.verbatim(
      [
        `curl -s ${ocspzUrl}`,
        `curl -s ${monitorUrl}/varz | grep -A7 '"ocsp"'`,
        `curl -s ${monitorUrl}/metrics | grep '^tsnats_ocsp'`,
        `node ${bin.startsWith('..') ? TSNATS_BIN : bin} ocsp show ${cacheFile} --cert ${cert.bundleFile}`,
      ].join('\n'),
    );
    n.line('Press Enter to revoke the certificate and watch the server shut down...');
    await waitForEnter();
    check(server.running, `tsnats is not running any more (${describeExit({ code: server.child.exitCode, signal: server.child.signalCode })})`);
  }

  // ---------------------------------------------------------------------------------------------
  n.begin('Revoke the certificate at the responder');
  const serialKey = normalizeSerialHex(cert.serialHex);
  const fetchesBefore = responder.requests.bySerial[serialKey] ?? 0;
  const linesBefore = server.lines.length;
  responder.setStatus(cert.serialHex, 'revoked', { reason: 1 /* keyCompromise */ });
  const revokedAt = Date.now();
  n.info(`the responder now answers "revoked" (keyCompromise) for serial ${hexPreview(cert.serialHex)}`);
  n.info(`the server has fetched ${fetchesBefore} OCSP response${fetchesBefore === 1 ? '' : 's'} so far; waiting for its next refresh (due within ${seconds(VALIDITY_MS / 2)})...`);
  const revokedLine = await server.waitFor('the server to notice the revocation', VALIDITY_MS + 10_000, () => {
    for (let i = linesBefore; i < server.lines.length; i++) if (/OCSP status for .*: revoked/.test(server.lines[i]!)) return server.lines[i]!;
    if (!server.running) throw new DemoFailure(`tsnats exited (${describeExit({ code: server.child.exitCode, signal: server.child.signalCode })}) without logging the revocation`);
    return undefined;
  });
  n.ok(`the server noticed the revocation ${seconds(Date.now() - revokedAt)} after it happened`);
  const exit = await withTimeout(server.exited, 10_000, 'tsnats to shut down after the revocation');
  const from = Math.max(linesBefore, server.lines.indexOf(revokedLine) - 1);
  n.info('server log, from the revocation to the exit:');
  n.verbatim(
    server.lines
      .slice(from)
      .slice(0, 12)
      .map(short)
      .join('\n'),
  );
  check(
    exit.code === ExitCode.OCSP_REVOKED,
    `tsnats ended with ${describeExit(exit)}, expected exit status ${ExitCode.OCSP_REVOKED} (ExitCode.OCSP_REVOKED)`,
  );
  n.ok(`tsnats exited with status ${exit.code} (ExitCode.OCSP_REVOKED: revoked in mode must)`);
  n.notice(`a supervisor can tell a revocation (${ExitCode.OCSP_REVOKED}) from a crash (1) or a normal stop (0); nats-server exits 0 here.`);

  n.line();
  n.line(n.style(`Demo OK: every step behaved as described (${seconds(Date.now() - started)}).`, 'bold', 'green'));
}

/** Resolves on the next line on stdin, or when stdin ends (not a terminal: /dev/null, closed pipe). */
function waitForEnter(): Promise<void> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    const done = (): void => {
      stdin.off('data', done);
      stdin.off('end', done);
      stdin.pause();
      resolve();
    };
    stdin.on('data', done);
    stdin.on('end', done);
    stdin.resume();
  });
}

/** One message through the server, with the official client if it is installed (a devDependency). */
async function pubSub(port: number, ca: string, n: Narrator): Promise<{ received: string; client: string }> {
  let nats: typeof import('@nats-io/transport-node') | undefined;
  try {
    nats = await import('@nats-io/transport-node');
  } catch {
    n.info('(@nats-io/transport-node is not installed: using the NATS protocol directly)');
  }
  if (!nats) {
    const c = await connectRequestingStaple('127.0.0.1', port, ca);
    try {
      await handshakeNats(c, 'tsnats-demo-pubsub');
      const received = await withTimeout(rawPubSub(c, SUBJECT, PAYLOAD), 5000, 'the message to come back');
      return { received, client: 'raw NATS protocol: SUB, PUB, MSG' };
    } finally {
      c.close();
    }
  }
  const nc = await nats.connect({ servers: `127.0.0.1:${port}`, tls: { ca }, name: 'tsnats-demo', reconnect: false, timeout: 5000 });
  try {
    const sub = nc.subscribe(SUBJECT, { max: 1 });
    const got = (async () => {
      for await (const m of sub) return m.string();
      return undefined;
    })();
    nc.publish(SUBJECT, PAYLOAD);
    const received = await withTimeout(got, 5000, 'the message to come back');
    check(received === PAYLOAD, `received ${JSON.stringify(received)} instead of the message published`);
    n.fact('client', `@nats-io/transport-node, connected to ${nc.getServer()} (${nc.info?.server_name ?? '?'}, TLS)`);
    return { received, client: 'official NATS client' };
  } finally {
    await nc.close();
  }
}

/** The last `count` server log lines (for a failure report). */
export function logTail(server: ServerProcess | undefined, tmp: string | undefined, count = 15): string[] {
  if (!server) return [];
  return server.lines.slice(-count).map((l) => (tmp ? shortLogLine(l).replaceAll(tmp, '$TMP') : shortLogLine(l)));
}
