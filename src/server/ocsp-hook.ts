// The `ocsp-stapling` hook as every server gets it (defaultServerHooks, the `tsnats` exports),
// without its cost: the stapling integration (./ocsp.ts) and the OCSP engine with its ASN.1
// libraries are loaded only when a server has TLS (at start, or at the reload that adds `tls {}`).
// A server without TLS never loads them.

import type { ServerOptions } from '../config/types.js';
import type { OcspStaplingHookOptions } from './ocsp.js';
import type { ServerHook } from './server.js';

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
      if (!ctx.tls && !inner) return;
      await (await load()).start?.(ctx);
    },
    async beforeReload(ctx, next) {
      if (!next.tls && !inner) return undefined;
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
