// /metrics: Prometheus text format through prom-client, with one Registry per server (never the
// global default registry, so two servers in one process keep separate metrics). Every value is
// read at scrape time by collect() callbacks from the server's counters and the staplers in
// service (server.ocsp): nothing runs per message. The only event-driven part is the OCSP fetch
// duration histogram, fed by the staplers' `attempt` events (a handful per hour per certificate).
// See docs/monitoring-ocsp.md for every metric.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OcspAttempt, Stapler, StaplerCounters } from '../../ocsp/index.js';
import { TSNATS_VERSION } from '../info.js';
import { registerJetStreamMetrics } from './jetstream-metrics.js';
import type { Server } from '../server.js';
import { groupEntries, STAPLE_STATUSES, viewOf, type OcspCertView, type StaplerGroup } from './ocspz.js';

/** Labels identifying one certificate on one listener. */
const CERT_LABELS = ['listener', 'certificate', 'sha256', 'serial'] as const;
type CertLabel = (typeof CERT_LABELS)[number];
type CertLabels = Record<CertLabel, string>;

/** Length of the SHA-256 prefix in the `sha256` label (64 bits: unique in practice, short in dashboards). */
export const SHA256_LABEL_LENGTH = 16;

/** Fetch duration buckets (seconds): OCSP responders answer in ms to a few s; the default timeout is 10 s. */
export const FETCH_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Counts {
  fetches: Map<string, { ok: number; failed: number }>;
  refreshesOk: number;
  refreshesFailed: number;
  handshakesStapled: number;
  handshakesWithout: number;
}

function emptyCounts(): Counts {
  return { fetches: new Map(), refreshesOk: 0, refreshesFailed: 0, handshakesStapled: 0, handshakesWithout: 0 };
}

function addCounters(into: Counts, c: StaplerCounters): void {
  for (const [url, r] of Object.entries(c.responders)) {
    const f = into.fetches.get(url) ?? { ok: 0, failed: 0 };
    f.ok += r.ok;
    f.failed += r.failed;
    into.fetches.set(url, f);
  }
  into.refreshesOk += c.fetches_ok;
  into.refreshesFailed += c.fetches_failed;
  into.handshakesStapled += c.handshakes_stapled;
  into.handshakesWithout += c.handshakes_without_staple;
}

function cloneCounts(c: Counts): Counts {
  const out = { ...c, fetches: new Map<string, { ok: number; failed: number }>() };
  for (const [k, v] of c.fetches) out.fetches.set(k, { ...v });
  return out;
}

/** A stapler whose attempts feed the histogram: what it has been observed for so far, per responder. */
interface TrackedStapler {
  observed: Map<string, { count: number; durationMs: number }>;
  onAttempt: (a: OcspAttempt) => void;
}

interface Series {
  labels: CertLabels;
  view: OcspCertView;
  counts: Counts;
  responderUrls: readonly string[];
}

function seconds(msSinceEpoch: number): number {
  return msSinceEpoch / 1000;
}

export interface ServerMetricsOptions {
  /** Clock (ms since the epoch) for ages and times left. Default Date.now. */
  now?: () => number;
}

/**
 * The metrics of one server. `render()` produces the /metrics body; `registry` is exposed so an
 * embedder can register metrics of its own next to these.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly server: Server;
  private readonly now: () => number;
  /** Staplers currently in service and listened to (histogram). */
  private readonly staplers = new Map<Stapler, TrackedStapler>();
  /** Series key → the stapler currently behind it. */
  private readonly current = new Map<string, Stapler>();
  /** Series key → counts of staplers that served it before (reload, rotation), so counters never go back. */
  private readonly retired = new Map<string, Counts>();
  private snap: Series[] | undefined;
  private readonly fetchDuration: Histogram<'responder'>;
  private closed = false;

  constructor(server: Server, opts: ServerMetricsOptions = {}) {
    this.server = server;
    this.now = opts.now ?? Date.now;
    const registers = [this.registry];
    const self = this;
    const certLabels = [...CERT_LABELS];

    // ---- core server --------------------------------------------------------------------------
    new Gauge({
      name: 'tsnats_info',
      help: 'Server identity (always 1).',
      labelNames: ['server_id', 'server_name', 'version'],
      registers,
      collect() {
        this.reset();
        this.set({ server_id: server.serverId, server_name: server.serverName, version: TSNATS_VERSION }, 1);
      },
    });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({ name, help, registers, collect() { this.reset(); this.inc(read()); } });
    };
    gauge('tsnats_start_time_seconds', 'Start time of the server, seconds since the Unix epoch.', () => seconds(server.startTime));
    gauge('tsnats_connections', 'Client connections currently open.', () => server.clients.size);
    counter('tsnats_connections_total', 'Client connections accepted since start.', () => server.totalConnections);
    gauge('tsnats_subscriptions', 'Subscriptions currently registered.', () => server.index.count);
    counter('tsnats_in_msgs_total', 'Messages received from clients.', () => server.inMsgs);
    counter('tsnats_out_msgs_total', 'Messages delivered to clients.', () => server.outMsgs);
    counter('tsnats_in_bytes_total', 'Payload bytes received from clients.', () => server.inBytes);
    counter('tsnats_out_bytes_total', 'Payload bytes delivered to clients.', () => server.outBytes);
    counter('tsnats_slow_consumers_total', 'Slow consumer events (clients that could not keep up with the messages sent to them).', () => server.slowConsumers);
    registerJetStreamMetrics(this.registry, server);

    // ---- OCSP, per certificate and listener ---------------------------------------------------
    const perCert = (
      name: string,
      help: string,
      value: (s: Series) => number | null,
    ): void => {
      new Gauge({
        name,
        help,
        labelNames: certLabels,
        registers,
        collect() {
          this.reset();
          for (const s of self.series()) {
            const v = value(s);
            if (v !== null) this.set(s.labels, v);
          }
        },
      });
    };
    new Gauge({
      name: 'tsnats_ocsp_certificate_info',
      help: 'A certificate served on a listener, with its OCSP settings (always 1).',
      labelNames: [...certLabels, 'subject', 'mode', 'must_staple', 'stapling'],
      registers,
      collect() {
        this.reset();
        for (const s of self.series()) {
          const st = s.view.st;
          this.set({ ...s.labels, subject: st.subject, mode: st.mode, must_staple: String(st.must_staple), stapling: String(st.stapling) }, 1);
        }
      },
    });
    new Gauge({
      name: 'tsnats_ocsp_staple_status',
      help: 'Staple status as a state set: 1 for the current status (good, revoked, unknown, expired, none, error), 0 for the others.',
      labelNames: [...certLabels, 'status'],
      registers,
      collect() {
        this.reset();
        for (const s of self.series()) {
          for (const status of STAPLE_STATUSES) this.set({ ...s.labels, status }, s.view.st.status === status ? 1 : 0);
        }
      },
    });
    perCert(
      'tsnats_ocsp_staple_expires_in_seconds',
      "Seconds until the staple's nextUpdate (thisUpdate + 1h when the response has none); negative once expired. Absent without a staple.",
      (s) => s.view.secondsUntilExpiry,
    );
    perCert(
      'tsnats_ocsp_staple_next_update_timestamp_seconds',
      "The staple's effective nextUpdate, seconds since the Unix epoch. Absent without a staple.",
      (s) => (s.view.expiresAtMs === null ? null : seconds(s.view.expiresAtMs)),
    );
    perCert('tsnats_ocsp_staple_age_seconds', "Seconds since the staple's thisUpdate. Absent without a staple.", (s) => s.view.stapleAgeSeconds);
    perCert(
      'tsnats_ocsp_staple_validity_seconds',
      "Length of the staple's validity window (nextUpdate - thisUpdate). Absent without a staple.",
      (s) => s.view.validitySeconds,
    );
    perCert(
      'tsnats_ocsp_staple_warning',
      '1 when the staple will probably expire before the next successful fetch (responder failing and less than a quarter of the validity left), has expired, or was never obtained.',
      (s) => (s.view.warning ? 1 : 0),
    );
    perCert('tsnats_ocsp_consecutive_failures', 'Failed fetch cycles since the last success.', (s) => s.view.st.consecutive_failures);
    perCert(
      'tsnats_ocsp_last_success_timestamp_seconds',
      'Time of the last successful fetch from a responder, seconds since the Unix epoch. Absent before the first.',
      (s) => (s.view.lastSuccessMs === null ? null : seconds(s.view.lastSuccessMs)),
    );
    perCert(
      'tsnats_ocsp_next_refresh_timestamp_seconds',
      'When the next fetch is scheduled, seconds since the Unix epoch. Absent when none is.',
      (s) => (s.view.nextRefreshMs === null ? null : seconds(s.view.nextRefreshMs)),
    );
    new Counter({
      name: 'tsnats_ocsp_fetches_total',
      help: 'HTTP requests to OCSP responders, by responder URL and result (success: a valid response was received; failure: HTTP, network or validation error).',
      labelNames: [...certLabels, 'responder', 'result'],
      registers,
      collect() {
        this.reset();
        for (const s of self.series()) {
          const urls = new Set([...s.responderUrls, ...s.counts.fetches.keys()]);
          for (const responder of urls) {
            const f = s.counts.fetches.get(responder) ?? { ok: 0, failed: 0 };
            this.inc({ ...s.labels, responder, result: 'success' }, f.ok);
            this.inc({ ...s.labels, responder, result: 'failure' }, f.failed);
          }
        }
      },
    });
    new Counter({
      name: 'tsnats_ocsp_refreshes_total',
      help: 'Fetch cycles (every responder URL tried in order until one answers), by result.',
      labelNames: [...certLabels, 'result'],
      registers,
      collect() {
        this.reset();
        for (const s of self.series()) {
          if (!s.view.st.stapling) continue;
          this.inc({ ...s.labels, result: 'success' }, s.counts.refreshesOk);
          this.inc({ ...s.labels, result: 'failure' }, s.counts.refreshesFailed);
        }
      },
    });
    new Counter({
      name: 'tsnats_ocsp_handshakes_total',
      help: 'TLS handshakes in which the client asked for the certificate status, by whether a staple was sent.',
      labelNames: [...certLabels, 'stapled'],
      registers,
      collect() {
        this.reset();
        for (const s of self.series()) {
          this.inc({ ...s.labels, stapled: 'true' }, s.counts.handshakesStapled);
          this.inc({ ...s.labels, stapled: 'false' }, s.counts.handshakesWithout);
        }
      },
    });
    this.fetchDuration = new Histogram({
      name: 'tsnats_ocsp_fetch_duration_seconds',
      help: 'Duration of HTTP requests to OCSP responders (connect to full body), by responder URL.',
      labelNames: ['responder'],
      buckets: FETCH_DURATION_BUCKETS,
      registers,
      collect() {
        self.sync();
      },
    });
  }

  /** The Content-Type of `render()`: `text/plain; version=0.0.4; charset=utf-8`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric of this server. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Follows the registry of staplers in service: listens to new staplers' attempts, and moves the
   * counts of staplers that left (reload, rotation) into the carry-over of their series. Cheap;
   * called on every scrape and by the hook on start and reload.
   */
  sync(): void {
    if (this.closed) return;
    const nextCurrent = new Map<string, Stapler>();
    for (const g of groupEntries(this.server.ocsp.list())) {
      const key = seriesKey(g);
      if (!nextCurrent.has(key)) nextCurrent.set(key, g.stapler);
    }
    for (const [key, old] of this.current) {
      if (nextCurrent.get(key) === old) continue;
      const base = this.retired.get(key) ?? emptyCounts();
      addCounters(base, old.getCounters());
      this.retired.set(key, base);
    }
    this.current.clear();
    for (const [k, v] of nextCurrent) this.current.set(k, v);
    const live = new Set(nextCurrent.values());
    for (const [stapler, t] of this.staplers) {
      if (live.has(stapler)) continue;
      this.catchUp(stapler, t);
      stapler.off('attempt', t.onAttempt);
      this.staplers.delete(stapler);
    }
    for (const stapler of live) {
      let t = this.staplers.get(stapler);
      if (!t) {
        const observed = new Map<string, { count: number; durationMs: number }>();
        const onAttempt = (a: OcspAttempt): void => {
          const o = observed.get(a.url) ?? { count: 0, durationMs: 0 };
          o.count++;
          o.durationMs += a.durationMs;
          observed.set(a.url, o);
          this.fetchDuration.observe({ responder: a.url }, a.durationMs / 1000);
        };
        t = { observed, onAttempt };
        stapler.on('attempt', onAttempt);
        this.staplers.set(stapler, t);
      }
      this.catchUp(stapler, t);
    }
  }

  /**
   * Observes attempts the histogram has not seen (those made before the stapler was in service,
   * e.g. the first fetch at start-up), at their average duration, so the histogram's count always
   * equals the number of requests.
   */
  private catchUp(stapler: Stapler, t: TrackedStapler): void {
    for (const [url, r] of Object.entries(stapler.getCounters().responders)) {
      const o = t.observed.get(url) ?? { count: 0, durationMs: 0 };
      const missing = r.ok + r.failed - o.count;
      if (missing > 0) {
        const avg = Math.max(0, r.duration_ms_total - o.durationMs) / missing;
        for (let i = 0; i < missing; i++) this.fetchDuration.observe({ responder: url }, avg / 1000);
        o.count += missing;
        o.durationMs = Math.max(o.durationMs, r.duration_ms_total);
      }
      t.observed.set(url, o);
    }
  }

  /** One consistent reading per scrape: computed on first use, dropped when the scrape's turn of the event loop ends. */
  private series(): Series[] {
    if (this.snap) return this.snap;
    this.sync();
    const now = this.now();
    const out: Series[] = [];
    const seen = new Set<string>();
    for (const g of groupEntries(this.server.ocsp.list())) {
      const stapler = g.stapler;
      const key = seriesKey(g);
      if (seen.has(key)) continue;
      seen.add(key);
      const view = viewOf(g, now);
      const counts = cloneCounts(this.retired.get(key) ?? emptyCounts());
      addCounters(counts, stapler.getCounters());
      out.push({
        labels: {
          listener: view.listeners.join(','),
          certificate: view.st.certificate,
          sha256: view.st.sha256.slice(0, SHA256_LABEL_LENGTH),
          serial: view.st.serial,
        },
        view,
        counts,
        responderUrls: view.st.stapling ? view.st.responder_urls : [],
      });
    }
    this.snap = out;
    setImmediate(() => {
      this.snap = undefined;
    }).unref();
    return out;
  }

  /** Stops listening to the staplers (server shutdown). The registry can still be rendered. */
  close(): void {
    for (const [stapler, t] of this.staplers) stapler.off('attempt', t.onAttempt);
    this.staplers.clear();
    this.closed = true;
  }
}

/** A series: the listeners, the certificate path and its SHA-256 (the serial follows from the latter). */
function seriesKey(g: StaplerGroup): string {
  return `${g.listeners.join(',')}\u0000${g.stapler.certPath}\u0000${g.stapler.leaf.sha256}`;
}
