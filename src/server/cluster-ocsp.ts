// OCSP stapling on routes (nats-server 2.9.10): when the cluster certificate is stapled (ocsp mode
// `always`, or a Must-Staple certificate in `auto`/`must`), tsnats staples on accepted route TLS
// connections and requires a good staple from the peers it dials, checked against its own issuer
// with the same strict engine as its own staples. Loaded only for a cluster with `tls {}`.

import { createStapler, parseCertificate, verifyOcspResponse, type CertificateInfo, type Stapler } from '../ocsp/index.js';
import type { Cluster } from './cluster.js';
import { ExitCode, type Server } from './server.js';

export interface RouteStapling {
  /** Peers' staples are required (stapling is on for the cluster certificate). */
  readonly required: boolean;
  /** Why the peer's staple is not acceptable, or undefined when it is. */
  checkPeer(staple: Buffer | undefined, peerLeafDer: Buffer | undefined): string | undefined;
  close(): void;
}

export async function startRouteStapling(server: Server, cluster: Cluster): Promise<RouteStapling | undefined> {
  const cfg = cluster.tlsConfig;
  if (!cfg || !cluster.tlsServer) return undefined;
  const o = server.options;
  const mode = o.ocsp?.mode ?? 'auto';
  const cert = cfg.certs[0]!;
  const stapler: Stapler = await createStapler({
    cert: cert.certPem,
    ca: cfg.ca,
    mode,
    urls: o.ocsp?.overrideUrls ?? [],
    storeDir: o.storeDir,
    certPath: cert.certFile,
    kind: 'Router',
    logger: server.logger,
    requireInitial: true,
  });
  if (!stapler.enabled) {
    stapler.close();
    return undefined;
  }
  stapler.attach(cluster.tlsServer);
  server.logger.notice('OCSP Stapling enabled for Router connections');
  stapler.on('shutdown', (e: { certificate: string; status: string }) => {
    server.logger.error(`Shutting down: OCSP status of Router certificate '${e.certificate}' is ${e.status}, exit status ${ExitCode.OCSP_REVOKED}`);
    void server.shutdown(ExitCode.OCSP_REVOKED);
  });
  const issuer: CertificateInfo | undefined = stapler.issuer;
  return {
    required: true,
    checkPeer(staple, peerLeafDer) {
      if (!staple || staple.length === 0) return 'Router client missing OCSP Staple';
      if (!peerLeafDer || !issuer) return 'Router client missing TLS verified chains';
      let leaf: CertificateInfo;
      try {
        leaf = parseCertificate(peerLeafDer);
      } catch (e) {
        return `failed to parse OCSP response from Router client: ${(e as Error).message}`;
      }
      try {
        const v = verifyOcspResponse(staple, { leaf, issuer });
        if (v.status !== 'good') return `bad status for OCSP Staple from Router client: ${v.status}`;
      } catch (e) {
        return `failed to parse OCSP response from Router client: ${(e as Error).message}`;
      }
      return undefined;
    },
    close() {
      stapler.close();
    },
  };
}
