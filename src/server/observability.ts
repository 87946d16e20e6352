// The observability hook: registers /ocspz, /metrics and the /varz `ocsp` section on the server's
// monitor at start, and rebinds them on reload (after the stapling hook has replaced the staplers
// in server.ocsp). Everything is read from server.ocsp and the server's counters when asked, so
// the endpoints always show the staplers in service. See docs/monitoring-ocsp.md.

//
// Start-up cost: nothing is loaded for a server without monitoring (no http_port/https_port);
// with monitoring, /ocspz's code at start and prom-client at the first /metrics scrape (or at
// start/reload when certificates are stapled, so their counters are followed from the start).

import type { ServerHook } from './server.js';
import type { Server } from './server.js';
import type { ServerMetrics } from './monitor/metrics.js';

type OcspzModule = typeof import('./monitor/ocspz.js');

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
  readonly now: () => number;
  private readonly ocspzMod: OcspzModule;
  private metricsObj: ServerMetrics | undefined;
  private metricsLoading: Promise<ServerMetrics> | undefined;
  private closed = false;

  constructor(server: Server, ocspzMod: OcspzModule, opts: ObservabilityOptions = {}) {
    this.server = server;
    this.now = opts.now ?? Date.now;
    this.ocspzMod = ocspzMod;
  }

  /** The /metrics registry holder; undefined until loaded (first scrape, or stapled certificates). */
  get metrics(): ServerMetrics | undefined {
    return this.metricsObj;
  }

  /** Loads prom-client and creates this server's metrics (once). */
  loadMetrics(): Promise<ServerMetrics> {
    this.metricsLoading ??= import('./monitor/metrics.js').then(({ ServerMetrics }) => {
      const m = new ServerMetrics(this.server, { now: this.now });
      this.metricsObj = m;
      if (this.closed) m.close();
      return m;
    });
    return this.metricsLoading;
  }

  /** (Re)registers the endpoints and the /varz section, and follows the staplers now in service. */
  async bind(): Promise<void> {
    const m = this.server.monitor;
    const { ocspz, ocspVarz } = this.ocspzMod;
    m.addEndpoint('/ocspz', (q) => {
      const body = ocspz(this.server, q, this.now());
      // OCSP checking of peers' certificates (docs/ocsp-peer.md), while `ocsp_peer` is on.
      const peer = this.server.ocspPeer?.ocspz();
      return { body: peer ? { ...body, peer } : body };
    });
    m.addEndpoint('/metrics', async () => {
      const metrics = await this.loadMetrics();
      return { body: await metrics.render(), contentType: metrics.contentType };
    });
    m.addVarzSection('ocsp', () => ocspVarz(this.server, this.now()));
    if (!this.metricsObj && this.server.ocsp.list().length > 0) await this.loadMetrics();
    this.metricsObj?.sync();
  }

  close(): void {
    this.closed = true;
    this.metricsObj?.close();
  }
}

const states = new WeakMap<Server, ServerObservability>();

/** The observability state of a server (undefined before the hook started, and without monitoring), e.g. to register metrics next to tsnats' own: `getServerObservability(server)?.metrics.registry`. */
export function getServerObservability(server: Server): ServerObservability | undefined {
  return states.get(server);
}

/**
 * The hook. One per server is enough; a second one on the same server reuses the first's state.
 */
export function observabilityHook(opts: ObservabilityOptions = {}): ServerHook {
  return {
    name: 'observability',
    async start({ server }) {
      if (!server.monitor.enabled) return;
      let s = states.get(server);
      if (!s) {
        s = new ServerObservability(server, await import('./monitor/ocspz.js'), opts);
        states.set(server, s);
      }
      await s.bind();
    },
    async reload({ server }) {
      const s = states.get(server);
      if (s) await s.bind();
    },
    stop({ server }) {
      states.get(server)?.close();
    },
  };
}
