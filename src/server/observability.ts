// The observability hook: registers /ocspz, /metrics and the /varz `ocsp` section on the server's
// monitor at start, and rebinds them on reload (after the stapling hook has replaced the staplers
// in server.ocsp). Everything is read from server.ocsp and the server's counters when asked, so
// the endpoints always show the staplers in service. See docs/monitoring-ocsp.md.

import type { ServerHook } from './server.js';
import type { Server } from './server.js';
import { ServerMetrics } from './monitor/metrics.js';
import { ocspVarz, ocspz } from './monitor/ocspz.js';

export interface ObservabilityOptions {
  /**
   * Clock (ms since the epoch) for `now`, ages and times left in /ocspz, /varz and /metrics.
   * Default Date.now. Tests with a fake stapler clock pass the same clock here.
   */
  now?: () => number;
}

/** The monitoring state of one server. */
export class ServerObservability {
  readonly server: Server;
  readonly metrics: ServerMetrics;
  readonly now: () => number;

  constructor(server: Server, opts: ObservabilityOptions = {}) {
    this.server = server;
    this.now = opts.now ?? Date.now;
    this.metrics = new ServerMetrics(server, { now: this.now });
  }

  /** (Re)registers the endpoints and the /varz section, and follows the staplers now in service. */
  bind(): void {
    const m = this.server.monitor;
    m.addEndpoint('/ocspz', (q) => {
      const body = ocspz(this.server, q, this.now());
      // OCSP checking of peers' certificates (docs/ocsp-peer.md), while `ocsp_peer` is on.
      const peer = this.server.ocspPeer?.ocspz();
      return { body: peer ? { ...body, peer } : body };
    });
    m.addEndpoint('/metrics', async () => ({
      body: await this.metrics.render(),
      contentType: this.metrics.contentType,
    }));
    m.addVarzSection('ocsp', () => ocspVarz(this.server, this.now()));
    this.metrics.sync();
  }

  close(): void {
    this.metrics.close();
  }
}

const states = new WeakMap<Server, ServerObservability>();

/** The observability state of a server (undefined before the hook started), e.g. to register metrics next to tsnats' own: `getServerObservability(server)?.metrics.registry`. */
export function getServerObservability(server: Server): ServerObservability | undefined {
  return states.get(server);
}

/**
 * The hook. One per server is enough; a second one on the same server reuses the first's state.
 */
export function observabilityHook(opts: ObservabilityOptions = {}): ServerHook {
  return {
    name: 'observability',
    start({ server }) {
      let s = states.get(server);
      if (!s) {
        s = new ServerObservability(server, opts);
        states.set(server, s);
      }
      s.bind();
    },
    reload({ server }) {
      const s = states.get(server);
      if (s) s.bind();
    },
    stop({ server }) {
      states.get(server)?.close();
    },
  };
}
