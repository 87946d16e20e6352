// Wiring of the route manager into a running server (loaded only when `cluster {}` is configured):
// start, /routez, the /varz cluster fields.

import type { ClusterOptions } from '../config/types.js';
import { Cluster } from './cluster.js';
import type { Server } from './server.js';

export async function startCluster(server: Server, opts: ClusterOptions): Promise<Cluster> {
  const c = new Cluster(server, opts);
  await c.start();
  const m = server.monitor;
  m.addEndpoint('/routez', (q) => {
    const s = q.get('subs');
    const subs = s === 'detail' ? 'detail' : s === '1' || s === 'true' ? 'list' : false;
    return { body: c.routez(subs) };
  });
  // Same keys as nats-server's /varz; existing keys keep their place.
  m.addVarzSection('cluster', () => c.varzCluster());
  m.addVarzSection('routes', () => c.routes.size);
  m.addVarzSection('remotes', () => c.routes.size);
  m.addVarzSection('connect_urls', () => {
    const u = c.clientConnectUrls();
    return u.length > 0 ? u : undefined;
  });
  return c;
}
