// The `ocsp-peer` ServerHook (docs/ocsp-peer.md): small and always loaded. The check itself
// (src/server/ocsp-peer.ts, src/ocsp/peer.ts) is imported only when a `tls {}` block turns
// `ocsp_peer` on, at start-up or at a reload, so servers without it start as fast as before.

import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { OcspPeerOptions, ServerOptions } from '../config/types.js';
import type { HookContext, ServerHook } from './server.js';

/** What a connection sees of the peer check (set on `server.ocspPeer` while `ocsp_peer` is on). */
export interface OcspPeerGate {
  /**
   * Checks the verified chain of a TLS peer (from `peerChain`). `true`/`false` when answered from memory, else a
   * Promise (the connection is held meanwhile). Never rejects. Logs the refusal line itself.
   */
  check(
    chain: Buffer[],
    kind: 'client' | 'websocket' | 'leafnode' | 'leafnode_remote',
    log: PeerConnLogger,
    /** The `ocsp_peer` of the connection's own `tls {}` block; default: the client `tls {}`'s. */
    options?: OcspPeerOptions,
  ): boolean | Promise<boolean>;
  /**
   * The peer's chain (DER, leaf first, trust anchor last). Without `first`, call it before any
   * `getPeerX509Certificate()`: the first such call on a socket takes the certificates the peer
   * sent out of Node's copy of the chain (they hang off the returned leaf's `issuerCertificate`).
   * With `first` (that first call's leaf, and the anchors of the listener's `tls {}`), the chain is
   * built from them: ~2 µs instead of the ~20 µs of Node's detailed certificate object.
   */
  peerChain(sock: TLSSocket, first?: { leaf: X509Certificate; anchors: () => readonly X509Certificate[] }): Buffer[];
  /** /varz `ocsp_peer_cache` (undefined when the cache type is none). */
  varzCache(): Record<string, unknown> | undefined;
  /** The /ocspz `peer` section. */
  ocspz(): Record<string, unknown>;
  /**
   * Re-checks the chains of connected peers (also run every RECHECK interval) and closes those
   * now known revoked (or unknown without unknown_is_good). Returns how many were closed.
   */
  recheck(): Promise<number>;
  /**
   * Hands the re-check record of a peer admitted before its connection object existed (a websocket
   * client is checked before the upgrade answer, with `log` standing for it) to the connection.
   */
  adopt(log: PeerConnLogger, conn: object): void;
  /** New options (reload). */
  reconfigure(options: ServerOptions): Promise<void>;
  close(): Promise<void>;
}

export interface PeerConnLogger {
  debug(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /**
   * Logs the refusal (`reason`: `client not OCSP valid`); default: error(`TLS handshake error: <reason>`)
   * (`TLS leafnode handshake error: ...` for leaf kinds).
   */
  handshakeError?(reason: string): void;
}

/**
 * Is `ocsp_peer` on in a block this server serves (the client `tls {}`, the websocket one, the
 * leaf node hub listener's, a leaf remote's) (docs/ocsp-peer.md §1)?
 */
export function ocspPeerWanted(o: ServerOptions): boolean {
  const l = o.leafnodes;
  return (
    !!o.tls?.ocspPeer?.verify ||
    !!(o.websocket?.port && o.websocket.tls?.ocspPeer?.verify) ||
    !!(l && l.port !== 0 && l.tls?.ocspPeer?.verify) ||
    !!l?.remotes.some((r) => r.tls?.ocspPeer?.verify)
  );
}

/** A connection the periodic re-check may close (a leaf node connection; clients are found in `server.clients`). */
export interface PeerRecheckTarget {
  readonly closed: boolean;
  error(msg: string): void;
  /** Closes it as revoked. */
  revoke(): void;
}

export function ocspPeerHook(): ServerHook {
  const apply = async (ctx: HookContext): Promise<void> => {
    const { server, options } = ctx;
    const gate = server.ocspPeer;
    if (ocspPeerWanted(options)) {
      if (gate) await gate.reconfigure(options);
      else {
        const { createOcspPeerGate } = await import('./ocsp-peer.js');
        server.ocspPeer = await createOcspPeerGate(server, options);
      }
    } else if (gate) {
      server.ocspPeer = undefined;
      await gate.close();
    }
  };
  return {
    name: 'ocsp-peer',
    async start(ctx) {
      const { server } = ctx;
      server.monitor.addVarzSection('tls_ocsp_peer_verify', () =>
        server.ocspPeer && server.options.tls?.ocspPeer?.verify ? true : undefined,
      );
      server.monitor.addVarzSection('ocsp_peer_cache', () => server.ocspPeer?.varzCache());
      await apply(ctx);
    },
    reload: apply,
    async stop({ server }) {
      const gate = server.ocspPeer;
      server.ocspPeer = undefined;
      await gate?.close();
    },
  };
}
