// TLS material for the TLS scenarios: a throwaway PKI from tsnats' test kit (a Must-Staple server
// certificate whose AIA points at a local OCSP responder from the same kit) and the config blocks
// that make nats-server and tsnats serve it with OCSP stapling on or off.
//
// Both servers get the identical certificate, key, CA and responder, and the same config text
// (tsnats reads nats-server's config syntax).
import { join } from 'node:path';

export interface TlsSetup {
  caFile: string;
  certFile: string;
  keyFile: string;
  responderUrl: string;
  /** OCSP requests the responder has answered so far. */
  responderRequests(): number;
  /** nats-server-syntax config body; `stapling` selects `ocsp { mode: always }` or `ocsp: false`. */
  conf(stapling: boolean): string;
  /**
   * mTLS with `ocsp_peer` (issue 13): a client certificate (clientAuth, AIA at the same responder)
   * and the config body of a server that requires it, checking it over OCSP when `peer` is true.
   */
  peer(): Promise<{ certFile: string; keyFile: string; conf(peer: boolean): string }>;
  close(): Promise<void>;
}

export async function setupTls(workDir: string): Promise<TlsSetup> {
  // Imported lazily so that a broken or missing test kit only disables the TLS rows.
  const kit = await import('../../src/testkit/index.js');
  const responder = await kit.startResponder({ host: '127.0.0.1' });
  try {
    const pki = await kit.createTestPki({ ocspUrl: responder.url, dir: join(workDir, 'pki') });
    responder.setIssuer(pki.root);
    const cert = pki.serverMustStaple;
    const q = (s: string) => JSON.stringify(s);
    let client: Promise<{ certFile: string; keyFile: string }> | undefined;
    return {
      caFile: pki.caFile,
      certFile: cert.bundleFile,
      keyFile: cert.keyFile,
      responderUrl: responder.url,
      responderRequests: () => responder.requests.total,
      conf: (stapling) =>
        [
          '# written by tsnats bench/run.ts',
          'tls {',
          `  cert_file: ${q(cert.bundleFile)}`,
          `  key_file: ${q(cert.keyFile)}`,
          `  ca_file: ${q(pki.caFile)}`,
          '  timeout: 5',
          '}',
          stapling ? 'ocsp { mode: always }' : 'ocsp: false',
          '',
        ].join('\n'),
      peer: async () => {
        client ??= pki.issue('bench-peer-client', { eku: ['clientAuth'] });
        const c = await client;
        return {
          certFile: c.certFile,
          keyFile: c.keyFile,
          conf: (peer: boolean) =>
            [
              '# written by tsnats bench/run.ts (ocsp_peer)',
              'tls {',
              `  cert_file: ${q(pki.server.bundleFile)}`,
              `  key_file: ${q(pki.server.keyFile)}`,
              `  ca_file: ${q(pki.caFile)}`,
              '  verify: true',
              '  timeout: 5',
              `  ocsp_peer: ${peer}`,
              '}',
              'ocsp: false',
              `ocsp_cache { local_store: ${q(join(workDir, 'ocsp-peer-cache'))} }`,
              '',
            ].join('\n'),
        };
      },
      close: async () => {
        await responder.close();
      },
    };
  } catch (e) {
    await responder.close();
    throw e;
  }
}
