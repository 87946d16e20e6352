// The `ocsp-stapling` hook as every server gets it (defaultServerHooks, the `tsnats` exports),
// without its cost: the stapling integration (./ocsp.ts) and the OCSP engine with its ASN.1
// libraries are loaded only when the TLS configuration can staple (see needsEngine), at start or
// at the reload that first needs them. A server without TLS, or whose certificates would not be
// stapled, never loads them.

import type { ServerOptions } from '../config/types.js';
import type { OcspStaplingHookOptions } from './ocsp.js';
import type { HookContext, ServerHook } from './server.js';
import type { LoadedCert } from './tls.js';

/** The DER encoding of id-pe-tlsfeature (1.3.6.1.5.5.7.1.24), the OID of the Must-Staple extension. */
const TLS_FEATURE_OID = Buffer.from([0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x18]);

/**
 * Whether this TLS configuration needs the stapling engine: with monitoring (/ocspz, /varz `ocsp`
 * and /metrics show every certificate), in mode `always`, and in the other modes when a
 * certificate carries Must-Staple. Otherwise nothing would be stapled (or warned about), and
 * nothing is loaded.
 */
function needsEngine(ctx: HookContext, options: ServerOptions, certs: readonly LoadedCert[]): boolean {
  if (ctx.server.monitor.enabled) return true;
  const mode = options.ocsp?.mode ?? 'auto';
  if (mode === 'always') return true;
  // auto/must staple Must-Staple certificates; never warns about them (`has MustStaple but OCSP is disabled`).
  return certs.some((c) => c.leaf.raw.includes(TLS_FEATURE_OID));
}

export type { OcspStaplingHookOptions } from './ocsp.js';

/**
 * The stapling hook (docs/stapling.md). Installed by `defaultServerHooks()` for every server;
 * does nothing (and loads nothing) without a `tls {}` block.
 */
export function ocspStaplingHook(options?: ServerOptions, hookOptions: OcspStaplingHookOptions = {}): ServerHook {
  let inner: ServerHook | undefined;
  const load = async (): Promise<ServerHook> => {
    if (!inner) {
      const m = await import('./ocsp.js');
      inner ??= m.ocspStaplingHook(options, hookOptions);
    }
    return inner;
  };
  return {
    name: 'ocsp-stapling',
    async start(ctx) {
      if (!inner && (!ctx.tls || !needsEngine(ctx, ctx.options, ctx.tls.config.certs))) return;
      await (await load()).start?.(ctx);
    },
    async beforeReload(ctx, next) {
      if (!inner && (!next.tls || !needsEngine(ctx, next.options, next.tls.certs))) return undefined;
      return (await load()).beforeReload?.(ctx, next);
    },
    async reload(ctx) {
      if (inner) await inner.reload?.(ctx);
    },
    async stop(ctx) {
      if (inner) await inner.stop?.(ctx);
    },
  };
}
