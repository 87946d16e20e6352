// The hooks every server started by the CLI or startServer() gets. This is where the OCSP
// stapling integration plugs in (see docs/embedding.md, "Hooks", and docs/stapling.md).

import type { ServerOptions } from '../config/types.js';
import { jetstreamHook } from './internal.js';
import { ocspStaplingHook } from './ocsp-hook.js';
import { observabilityHook } from './observability.js';
import { ocspPeerHook } from './ocsp-peer-hook.js';
import type { Server, ServerHook } from './server.js';

/**
 * Whether the system account's events and requests run: a system account exists (nats-server
 * 2.9.10 creates `$SYS` unless `no_system_account`) and something can listen in it (users of the
 * system account in `accounts {}`, an explicit `system_account`, or operator mode). Without a
 * listener nothing observable changes, so a plain server does not load the events code.
 */
export function eventsWanted(o: ServerOptions): boolean {
  if (o.noSystemAccount) return false;
  const sys = o.systemAccount || '$SYS';
  return !!o.systemAccount || !!o.operator || (o.accounts ?? []).some((a) => a.name === sys);
}

async function ensureEvents(server: Server, o: ServerOptions): Promise<void> {
  if (server.events || !eventsWanted(o)) return;
  const { startSystemEvents } = await import('./events/index.js');
  server.events = startSystemEvents(server);
}

/** The system account's events and requests (src/server/events, loaded on demand). */
export function systemEventsHook(options: ServerOptions): ServerHook {
  return {
    name: 'system-events',
    start: (ctx) => ensureEvents(ctx.server, options),
    // A reload that gives the system account its first user starts them (they then stay on).
    async reload(ctx) {
      // Accounts added or removed: their system imports follow.
      ctx.server.events?.imports?.sync();
      await ensureEvents(ctx.server, ctx.options);
    },
    stop(ctx) {
      ctx.server.events?.stop();
    },
  };
}

/**
 * Default hooks for a server with these options: OCSP stapling (a no-op without `tls {}`; first,
 * so its staplers are in `server.ocsp` before the others start), the system account's events
 * (loaded only when something can listen), JetStream (loaded only when enabled), then
 * observability, then OCSP peer checking (`ocsp_peer`, after observability so it can register
 * its metrics).
 */
export function defaultServerHooks(options: ServerOptions): ServerHook[] {
  return [ocspStaplingHook(options), systemEventsHook(options), jetstreamHook(options), observabilityHook(), ocspPeerHook()];
}
