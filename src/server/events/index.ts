// Entry of the system account's events and requests (loaded by the hook in src/server/hooks.ts only
// when something can listen in the system account: see `eventsWanted`).

import type { Server } from '../server.js';
import { SystemEvents } from './system.js';
import { installRequests } from './requests.js';
import { SystemImports } from './system-imports.js';

export { SystemEvents } from './system.js';

export function startSystemEvents(server: Server): SystemEvents {
  const ev = new SystemEvents(server);
  installRequests(server, ev);
  ev.imports = new SystemImports(server, ev);
  ev.imports.sync();
  ev.start();
  // Operator mode: account JWT updates pushed through the system account (src/server/jwt/update.ts).
  const op = server.options.operator;
  if (op) {
    void import('../jwt/update.js').then(
      (m) => m.installClaimUpdates(server, ev, op, server.options.systemAccount),
      (e: Error) => server.logger.error(`Error setting up internal tracking: ${e.message}`),
    );
  }
  return ev;
}
