// The hooks every server started by the CLI or startServer() gets. This is where the OCSP
// stapling integration plugs in (see docs/embedding.md, "Hooks", and docs/stapling.md).

import type { ServerOptions } from '../config/types.js';
import { jetstreamHook } from './internal.js';
import { ocspStaplingHook } from './ocsp-hook.js';
import { observabilityHook } from './observability.js';
import { ocspPeerHook } from './ocsp-peer-hook.js';
import type { ServerHook } from './server.js';

/**
 * Default hooks for a server with these options: OCSP stapling (a no-op without `tls {}`; first,
 * so its staplers are in `server.ocsp` before the others start), JetStream (loaded only when
 * enabled), then observability, then OCSP peer checking (`ocsp_peer`, after observability so it
 * can register its metrics).
 */
export function defaultServerHooks(options: ServerOptions): ServerHook[] {
  return [ocspStaplingHook(options), jetstreamHook(options), observabilityHook(), ocspPeerHook()];
}
