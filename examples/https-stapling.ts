// OCSP stapling for any Node HTTPS server, with the standalone engine `tsnats/ocsp`.
//
//   npm run build && node dist/examples/https-stapling.js           # self-check: staple, verify, revoke; exits 0
//   node dist/examples/https-stapling.js --serve                    # keep serving; try openssl s_client -status
//
// The PKI and the OCSP responder come from `tsnats/testkit` so the example runs anywhere. In real
// life, pass your certificate files to createStapler() and the responder is your CA's (the URL in
// the certificate's AIA extension).

import { once } from 'node:events';
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createStapler, parseCertificate, verifyOcspResponse } from 'tsnats/ocsp';
import { createTestPki, startResponder } from 'tsnats/testkit';

const serve = process.argv.includes('--serve');

// 1. A throwaway CA with a Must-Staple server certificate whose AIA points at a local responder.
const responder = await startResponder();
const pki = await createTestPki({ ocspUrl: responder.url });
responder.setIssuer(pki.root);
const server = pki.serverMustStaple; // certPem, keyPem, bundleFile (leaf + issuer), serialHex, ...

// 2. The engine: one Stapler per certificate. It fetches and verifies the first staple before
//    returning (in mode must it refuses to start without one), then keeps it fresh.
const stapler = await createStapler({
  cert: `${server.certPem}${pki.root.certPem}`, // leaf first, then its issuer (or pass `ca`)
  mode: 'must', // shut down (the 'shutdown' event) if the certificate is revoked
  storeDir: join(pki.dir, 'store'), // disk cache: <storeDir>/ocsp/<sha256 of the leaf>
  certPath: server.bundleFile, // the label used in log lines and status()
  logger: { debug() {}, info: (m) => console.log(`[ocsp] ${m}`), warn: (m) => console.warn(`[ocsp] ${m}`), error: (m) => console.error(`[ocsp] ${m}`) },
});

// 3. Any tls.Server / https.Server / http2 secure server: attach before listen().
const app = https.createServer({ cert: server.certPem, key: server.keyPem }, (_req, res) => res.end('hello over a stapled connection\n'));
stapler.attach(app);
let exitCode = 0;
stapler.on('shutdown', (e) => {
  console.log(`shutdown: ${e.message}`);
  app.close();
});
app.listen(0, '127.0.0.1');
await once(app, 'listening');
const { port } = app.address() as AddressInfo;
console.log(`https://localhost:${port}/ is up, stapling: ${stapler.enabled}, status: ${stapler.status().status}`);

async function cleanup(): Promise<void> {
  stapler.close();
  app.close();
  app.closeAllConnections();
  await responder.close();
  await pki.cleanup();
}

if (serve) {
  console.log(`openssl s_client -connect 127.0.0.1:${port} -servername localhost -status -CAfile ${pki.caFile} </dev/null | grep -A3 'OCSP Response Status'`);
  console.log(`curl --cacert ${pki.caFile} https://localhost:${port}/`);
  console.log('Ctrl-C to stop');
  await once(process, 'SIGINT');
  await cleanup();
} else {
  try {
    // 4. A client that asks for the staple (TLS status_request) and checks it with the engine.
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.root.certPem, requestOCSP: true } as tls.ConnectionOptions);
    const [[staple]] = (await Promise.all([once(sock, 'OCSPResponse'), once(sock, 'secureConnect')])) as [[Buffer | null], unknown];
    sock.end();
    if (!staple) throw new Error('no staple in the TLS handshake');
    const v = verifyOcspResponse(staple, { leaf: parseCertificate(server.der), issuer: parseCertificate(pki.root.der) });
    console.log(`client: staple of ${staple.length} bytes, status ${v.status}, signed by ${v.signerSubject}, next update ${new Date(v.nextUpdate!).toISOString()}`);

    const body = await new Promise<string>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.root.certPem, path: '/' }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    console.log(`client: GET / -> ${body.trim()}`);

    // 5. Revocation: the next refresh (here forced with refresh()) reports it; mode must emits 'shutdown'.
    responder.setStatus(server.serialHex, 'revoked');
    const shutdown = once(stapler, 'shutdown');
    await stapler.refresh();
    await shutdown;
    console.log(`after revocation: status ${stapler.status().status}`);
  } catch (err) {
    console.error(`example failed: ${(err as Error).message}`);
    exitCode = 1;
  } finally {
    await cleanup();
  }
}
process.exitCode = exitCode;
