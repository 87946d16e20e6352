// OCSP stapling in the running server: the `ocsp-stapling` ServerHook (docs/stapling.md).
//
// One stapler per certificate of `tls {}` (several with `certs: [...]`, chosen by SNI), attached
// to every TLS endpoint the TlsManager owns (the client upgrade server, the HTTPS monitor). The
// engine (src/ocsp) does the work: mode × Must-Staple decision, first staple before ready
// (memory → store_dir → responders), strict validation, refresh, SNI-aware dispatch by the
// certificate actually served. This file decides what the server does around it:
//
//   start         every stapler is created (and has its first staple) before `Server is ready`;
//                 any failure refuses start-up with nats-server's message (exit 1).
//   revocation    must/always: `server.shutdown(ExitCode.OCSP_REVOKED)` (exit 20).
//   beforeReload  the new certificates' staplers are built and attached BEFORE the TLS contexts
//                 switch, so a new certificate goes into service with its own validated staple.
//                 must/always: a certificate that cannot get a good staple is not put into
//                 service; the previous certificate of that slot is kept with its stapler.
//   reload        the new set is committed; the old staplers are closed (those of certificates
//                 no longer served after the handshake timeout, for handshakes begun before).
//   stop          every stapler is closed.

import type tls from 'node:tls';
import { createStapler, StapleMemory, type OcspMode, type Stapler, type StaplerOptions } from '../ocsp/index.js';
import type { ServerOptions } from '../config/types.js';
import type { OcspListenerKind, StaplerEntry } from './ocsp-registry.js';
import { ExitCode, type HookContext, type ReloadPlan, type Server, type ServerHook } from './server.js';
import { TlsConfig, type CertSource, type LoadedCert } from './tls.js';

/**
 * A view of the server's staple memory for a certificate that is not in service yet: it does not
 * start from a staple held in memory (a new certificate, or one refused at a previous reload, is
 * always checked with its responder), but what it learns is shared.
 */
class WriteThroughMemory extends StapleMemory {
  constructor(private readonly base: StapleMemory) {
    super(1);
  }
  override get(): Buffer | undefined {
    return undefined;
  }
  override set(key: string, der: Buffer): void {
    this.base.set(key, der);
  }
  override delete(key: string): void {
    this.base.delete(key);
  }
  override clear(): void {
    this.base.clear();
  }
}

/** What the hook needs from the options (fixed for one start or reload). */
interface StaplingSettings {
  mode: OcspMode;
  urls: string[];
  storeDir: string | undefined;
}

function settingsOf(o: ServerOptions): StaplingSettings {
  return { mode: o.ocsp?.mode ?? 'auto', urls: [...(o.ocsp?.overrideUrls ?? [])], storeDir: o.storeDir };
}

const shutsDown = (mode: OcspMode): boolean => mode === 'must' || mode === 'always';

/** One certificate in service and its stapler (undefined when none could be created). */
interface Slot {
  cert: LoadedCert;
  stapler: Stapler | undefined;
}

/** A reload prepared by beforeReload, committed by reload. */
interface Pending {
  slots: Slot[];
  /** Staplers created for this reload (closed if the reload is abandoned). */
  created: Stapler[];
}

/** Options of the hook itself (embedders and tests; not reachable from the configuration file). */
export interface OcspStaplingHookOptions {
  /** Engine tuning passed to every stapler, e.g. `{ fetchTimeoutMs: 1000, retryBaseMs: 2000 }`. */
  engine?: Partial<
    Pick<
      StaplerOptions,
      'fetchTimeoutMs' | 'maxResponseBytes' | 'clockSkewMs' | 'maxAgeWithoutNextUpdateMs' | 'minRefreshMs' | 'maxRefreshMs' | 'retryBaseMs' | 'retryMaxMs'
    >
  >;
  /**
   * A listener with its own `tls {}` (websocket): every server of `ctx.tls` is this kind, and the
   * staplers are published in the registry under this name (beside the main hook's).
   */
  listener?: OcspListenerKind;
}

function describeCert(c: LoadedCert): string {
  return `'${c.certFile}' (serial ${c.leaf.serialNumber.toLowerCase().replace(/^0+(?=.)/, '')})`;
}

/**
 * The stapling hook. Installed by `defaultServerHooks()` for every server; does nothing without
 * a `tls {}` block.
 */
export function ocspStaplingHook(_options?: ServerOptions, hookOptions: OcspStaplingHookOptions = {}): ServerHook {
  const engine = hookOptions.engine ?? {};
  let slots: Slot[] = [];
  let pending: Pending | undefined;
  /** tls.Server objects each stapler is attached to. */
  const attachedTo = new WeakMap<Stapler, Set<tls.Server>>();
  let stopped = false;
  /** Staplers replaced by a reload, still answering for handshakes begun before the swap. */
  const retiring = new Set<Stapler>();
  // This server's staples, so a reload starts from the staple already held (re-verified) and does
  // not fetch again for an unchanged certificate. Per server: another server in the same process
  // does not start from this one's staples.
  const memory = new StapleMemory(1000);

  async function makeStapler(ctx: HookContext, cert: LoadedCert, ca: Buffer | undefined, s: StaplingSettings, requireInitial: boolean): Promise<Stapler> {
    // Only a certificate already in service starts from the staple held in memory.
    const inService = slots.some((sl) => sl.stapler && !sl.stapler.status().closed && sl.cert.leaf.raw.equals(cert.leaf.raw));
    const stapler = await createStapler({
      ...engine,
      cert: cert.certPem,
      ca,
      mode: s.mode,
      urls: s.urls,
      storeDir: s.storeDir,
      certPath: cert.certFile,
      kind: 'Client',
      logger: ctx.server.logger,
      requireInitial,
      memory: inService ? memory : new WriteThroughMemory(memory),
    });
    watch(ctx.server, stapler);
    return stapler;
  }

  /** must/always: a revoked or unknown status at run time shuts the server down (exit 20). */
  function watch(server: Server, stapler: Stapler): void {
    stapler.on('shutdown', (e) => {
      if (stopped || retiring.has(stapler)) return;
      server.logger.error(
        `Shutting down: OCSP status of certificate '${e.certificate}' is ${e.status} (ocsp mode ${stapler.mode}), exit status ${ExitCode.OCSP_REVOKED}`,
      );
      void server.shutdown(ExitCode.OCSP_REVOKED);
    });
  }

  function attach(stapler: Stapler | undefined, servers: readonly tls.Server[]): void {
    if (!stapler || !stapler.enabled) return;
    let set = attachedTo.get(stapler);
    if (!set) attachedTo.set(stapler, (set = new Set()));
    for (const srv of servers) {
      if (set.has(srv)) continue;
      stapler.attach(srv);
      set.add(srv);
    }
  }

  function publish(ctx: HookContext): void {
    const entries: StaplerEntry[] = [];
    const t = ctx.tls;
    if (t) {
      const kinds: OcspListenerKind[] = t.servers().map((s) => hookOptions.listener ?? (s === t.clientServer ? 'client' : 'https'));
      for (const kind of kinds) for (const sl of slots) if (sl.stapler) entries.push({ listener: kind, stapler: sl.stapler });
    }
    ctx.server.ocsp.set(entries, hookOptions.listener);
  }

  function logEnabled(ctx: HookContext): void {
    const what = hookOptions.listener === 'websocket' ? 'Websocket' : 'Client';
    if (slots.some((s) => s.stapler?.enabled)) ctx.server.logger.notice(`OCSP Stapling enabled for ${what} connections`);
  }

  function retire(list: Stapler[], graceMs: number): void {
    if (list.length === 0) return;
    for (const st of list) retiring.add(st);
    const t = setTimeout(() => {
      for (const st of list) {
        retiring.delete(st);
        st.close();
      }
    }, graceMs);
    t.unref();
  }

  function discardPending(): void {
    const p = pending;
    pending = undefined;
    if (!p) return;
    const keep = new Set(slots.map((s) => s.stapler));
    for (const st of p.created) if (!keep.has(st)) st.close();
  }

  return {
    name: 'ocsp-stapling',

    async start(ctx) {
      stopped = false;
      const t = ctx.tls;
      if (!t) return;
      const s = settingsOf(ctx.options);
      // Every certificate's first staple, concurrently; any failure refuses start-up (the first
      // failing certificate in configuration order gives the message).
      const results = await Promise.allSettled(t.config.certs.map((cert) => makeStapler(ctx, cert, t.config.ca, s, true)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        for (const r of results) if (r.status === 'fulfilled') r.value.close();
        throw failed.reason;
      }
      slots = t.config.certs.map((cert, i) => ({ cert, stapler: (results[i] as PromiseFulfilledResult<Stapler>).value }));
      for (const sl of slots) attach(sl.stapler, t.servers());
      logEnabled(ctx);
      publish(ctx);
    },

    async beforeReload(ctx, next: ReloadPlan) {
      discardPending();
      if (!next.tls) {
        pending = { slots: [], created: [] };
        return undefined;
      }
      const log = ctx.server.logger;
      const s = settingsOf(next.options);
      const cfg = next.tls;
      const created: Stapler[] = [];
      const out: Slot[] = [];
      const sources: CertSource[] = [];
      let kept = false;
      try {
        const used = new Set<Slot>();
        for (const [i, cert] of cfg.certs.entries()) {
          // The slot this certificate replaces: same file, else same position.
          let prev = slots.find((p) => p.cert.certFile === cert.certFile && !used.has(p));
          if (!prev && slots[i] && !used.has(slots[i]!) && !cfg.certs.some((c) => c.certFile === slots[i]!.cert.certFile)) prev = slots[i];
          if (prev) used.add(prev);
          let stapler: Stapler | undefined;
          if (shutsDown(s.mode)) {
            try {
              stapler = await makeStapler(ctx, cert, cfg.ca, s, true);
              created.push(stapler);
            } catch (err) {
              const msg = (err as Error).message;
              log.warn(`Can't restart OCSP features: ${msg}`);
              if (!prev) {
                // No certificate to keep in this slot: refuse the whole reload.
                throw new Error(`certificate at '${cert.certFile}' has no good OCSP staple (ocsp mode ${s.mode}): ${msg}`);
              }
              log.error(
                `Keeping certificate ${describeCert(prev.cert)} and its OCSP staple in service: certificate ${describeCert(cert)} has no good OCSP staple (ocsp mode ${s.mode})`,
              );
              out.push(prev);
              sources.push({ certFile: prev.cert.certFile, keyFile: prev.cert.keyFile, certPem: prev.cert.certPem, keyPem: prev.cert.keyPem });
              kept = true;
              continue;
            }
          } else {
            // auto / never (as nats-server): the new certificate goes into service; without a
            // staple yet, its stapler keeps trying.
            try {
              stapler = await makeStapler(ctx, cert, cfg.ca, s, false);
              created.push(stapler);
              const st = stapler.status();
              if (stapler.enabled && st.status === 'error') {
                log.warn(`Can't restart OCSP features: bad OCSP status update for certificate at '${cert.certFile}': ${st.last_error ?? 'no staple'}`);
              }
            } catch (err) {
              log.warn(`Can't restart OCSP features: ${(err as Error).message}`);
              stapler = undefined; // certificate or issuer problem: served without a staple
            }
          }
          out.push({ cert, stapler });
          sources.push({ certFile: cert.certFile, keyFile: cert.keyFile, certPem: cert.certPem, keyPem: cert.keyPem });
        }
      } catch (e) {
        for (const st of created) st.close();
        throw e;
      }
      if (stopped) {
        for (const st of created) st.close();
        throw new Error('server shutting down');
      }
      // In service before the TLS contexts switch: the first handshake with a new certificate
      // already finds its staple. (TLS newly enabled: attached in reload(), before any accept.)
      if (ctx.tls) for (const sl of out) attach(sl.stapler, ctx.tls.servers());
      pending = { slots: out, created };
      if (!kept) return undefined;
      const replaced = new TlsConfig(cfg.options, sources);
      // Same LoadedCert objects as the slots, so later reloads match by file and position.
      for (const [i, sl] of out.entries()) sl.cert = replaced.certs[i]!;
      return replaced;
    },

    async reload(ctx) {
      const p = pending;
      pending = undefined;
      if (!p) return; // reload without beforeReload (not through Server.reload): nothing prepared
      const next = p.slots;
      // Synchronous until the end: nothing is accepted in between.
      if (ctx.tls) for (const sl of next) attach(sl.stapler, ctx.tls.servers());
      const keep = new Set(next.map((sl) => sl.stapler));
      const old = slots.flatMap((sl) => (sl.stapler && !keep.has(sl.stapler) ? [sl.stapler] : []));
      slots = ctx.tls ? next : [];
      if (!ctx.tls) for (const sl of next) sl.stapler?.close();
      // A socket upgraded just before the swap still presents a certificate that is now out of
      // service: its stapler keeps answering until such handshakes are over (handshake timeout),
      // then closes. A certificate still in service is answered by its new stapler only (which
      // may be disabled: a mode change applies at once).
      const served = new Set(slots.map((sl) => sl.cert.leaf.raw.toString('latin1')));
      const gone = old.filter((st) => !served.has(st.leaf.der.toString('latin1')));
      for (const st of old) if (!gone.includes(st)) st.close();
      retire(gone, (ctx.options.tls?.timeoutMs ?? 2000) + 1000);
      logEnabled(ctx);
      publish(ctx);
    },

    async stop(ctx) {
      stopped = true;
      discardPending();
      for (const sl of slots) sl.stapler?.close();
      for (const st of retiring) st.close();
      retiring.clear();
      slots = [];
      ctx.server.ocsp.set([], hookOptions.listener);
    },
  };
}
