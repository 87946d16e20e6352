// The hooks every server started by the CLI or startServer() gets. This is where the OCSP
// stapling integration plugs in: add its ServerHook here (see docs/embedding.md, "Hooks").

import type { ServerOptions } from '../config/types.js';
import type { ServerHook } from './server.js';

/**
 * Default hooks for a server with these options. Empty for now; the OCSP integration returns its
 * stapling hook from here, e.g. `return [ocspStaplingHook(options)]`.
 */
export function defaultServerHooks(_options: ServerOptions): ServerHook[] {
  return [];
}
