// OCSP stapling on leaf TLS (nats-server 2.9.10, ocsp.go): when the leaf listener's certificate is
// stapled (ocsp mode `always`, or a Must-Staple certificate in `auto`/`must`), tsnats staples on
// every accepted leaf TLS connection; a remote whose own certificate is stapling-eligible requests
// the hub's staple and requires a good one, checked against its own issuer with the same strict
// engine as the route staples (src/server/cluster-ocsp.ts). Loaded only for leaf TLS.

import { readFileSync } from 'node:fs';
import { createStapler, parseCertificate, verifyOcspResponse, type CertificateInfo, type Stapler } from '../ocsp/index.js';
import type { TlsOptions } from '../config/types.js';
import type { Leafnodes } from './leafnodes.js';
import { ExitCode, type Server } from './server.js';

export interface PeerStapleCheck {
  /** Why the peer's staple is not acceptable, or undefined when it is. */
  checkPeer(staple: Buffer | undefined, peerLeafDer: Buffer | undefined): string | undefined;
  close(): void;
}

function checker(stapler: Stapler, who: string): PeerStapleCheck {
  const issuer: CertificateInfo | undefined = stapler.issuer;
  return {
    checkPeer(staple, peerLeafDer) {
      if (!staple || staple.length === 0) return `${who} missing OCSP Staple`;
      if (!peerLeafDer || !issuer) return `${who} missing TLS verified chains`;
      try {
        const leaf = parseCertificate(peerLeafDer);
        const v = verifyOcspResponse(staple, { leaf, issuer });
        if (v.status !== 'good') return `bad status for OCSP Staple from ${who}: ${v.status}`;
      } catch (e) {
        return `failed to parse OCSP response from ${who}: ${(e as Error).message}`;
      }
      return undefined;
    },
    close() {
      stapler.close();
    },
  };
}

function onRevoked(server: Server, stapler: Stapler): void {
  stapler.on('shutdown', (e: { certificate: string; status: string }) => {
    server.logger.error(`Shutting down: OCSP status of Leafnode certificate '${e.certificate}' is ${e.status}, exit status ${ExitCode.OCSP_REVOKED}`);
    void server.shutdown(ExitCode.OCSP_REVOKED);
  });
}

/** Stapling on the leaf listener; undefined when the listener's certificate is not stapled. */
export async function startLeafStapling(server: Server, mgr: Leafnodes): Promise<PeerStapleCheck | undefined> {
  const cfg = mgr.tlsConfig;
  if (!cfg || !mgr.tlsServer) return undefined;
  const o = server.options;
  const cert = cfg.certs[0]!;
  const stapler = await createStapler({
    cert: cert.certPem,
    ca: cfg.ca,
    mode: o.ocsp?.mode ?? 'auto',
    urls: o.ocsp?.overrideUrls ?? [],
    storeDir: o.storeDir,
    certPath: cert.certFile,
    kind: 'Leafnode',
    logger: server.logger,
    requireInitial: true,
  });
  if (!stapler.enabled) {
    stapler.close();
    return undefined;
  }
  stapler.attach(mgr.tlsServer);
  server.logger.notice('OCSP Stapling enabled for Leafnode connections');
  onRevoked(server, stapler);
  // /ocspz lists it under the `leafnode` listener.
  server.ocsp.set([{ listener: 'leafnode', stapler }], 'leafnode');
  const c = checker(stapler, 'Leafnode client');
  return {
    checkPeer: c.checkPeer,
    close() {
      server.ocsp.set([], 'leafnode');
      c.close();
    },
  };
}

/** A remote's check of the hub's staple; undefined when the remote's certificate is not stapled. */
export async function startRemoteStapleCheck(server: Server, t: TlsOptions): Promise<PeerStapleCheck | undefined> {
  if (!t.certFile) return undefined;
  const o = server.options;
  const stapler = await createStapler({
    cert: readFileSync(t.certFile),
    ca: t.caFile ? readFileSync(t.caFile) : undefined,
    mode: o.ocsp?.mode ?? 'auto',
    urls: o.ocsp?.overrideUrls ?? [],
    storeDir: o.storeDir,
    certPath: t.certFile,
    kind: 'Leafnode',
    logger: server.logger,
    requireInitial: false,
  });
  if (!stapler.enabled) {
    stapler.close();
    return undefined;
  }
  return checker(stapler, 'Leafnode server');
}
