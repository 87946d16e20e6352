// Cluster formation with tsnats and nats-server 2.9.10: gossip, peer restarts, cluster names,
// route authorization, connect_urls for clients, reload adding and removing routes.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as netConnect } from 'node:net';
import { SKIP_NATS, client, nodeConf, routeUrl, routez, sleep, startNode, until, waitRoutes, type Kind, type Node } from './harness.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

async function stopAll(nodes: Array<Node | undefined>): Promise<void> {
  for (const n of nodes.reverse()) await n?.stop().catch(() => undefined);
}

/** Messages across every pair of nodes. */
async function meshDelivers(nodes: Node[]): Promise<void> {
  const conns = await Promise.all(nodes.map((n) => client(n)));
  try {
    const got = new Map<string, number>();
    const subs = conns.map((c, i) => c.subscribe(`mesh.${i}`, { callback: () => void got.set(`mesh.${i}`, (got.get(`mesh.${i}`) ?? 0) + 1) }));
    for (const c of conns) await c.flush();
    await sleep(300);
    for (const c of conns) for (let i = 0; i < nodes.length; i++) c.publish(`mesh.${i}`, 'x');
    for (const c of conns) await c.flush();
    await until(() => [...got.values()].reduce((a, b) => a + b, 0) >= nodes.length * nodes.length, 4000, 'mesh deliveries');
    await sleep(100);
    for (let i = 0; i < nodes.length; i++) assert.equal(got.get(`mesh.${i}`), nodes.length, `mesh.${i} once from every node`);
    for (const s of subs) s.unsubscribe();
  } finally {
    for (const c of conns) await c.close();
  }
}

const GOSSIP: Array<[Kind, Kind, Kind]> = [
  ['tsnats', 'tsnats', 'tsnats'],
  ['nats-server', 'tsnats', 'nats-server'],
  ['tsnats', 'nats-server', 'tsnats'],
  ['nats-server', 'nats-server', 'tsnats'],
];

describe('gossip: a third node configured with one seed meets the whole mesh', () => {
  for (const [k1, k2, k3] of GOSSIP) {
    const skip = SKIP_NATS && [k1, k2, k3].includes('nats-server') ? SKIP_NATS : false;
    it(`seed ${k1}, ${k2}, ${k3}`, { skip }, async () => {
      const nodes: Node[] = [];
      try {
        const seed = await startNode(k1, { name: 'S1' });
        nodes.push(seed);
        nodes.push(await startNode(k2, { name: 'S2', routes: [routeUrl(seed)] }));
        nodes.push(await startNode(k3, { name: 'S3', routes: [routeUrl(seed)] }));
        await waitRoutes(nodes, 2, 10_000);
        await meshDelivers(nodes);
      } finally {
        await stopAll(nodes);
      }
    });
  }
});

describe('peer restart: the dialing node reconnects', () => {
  for (const [dialer, peer] of [
    ['tsnats', 'nats-server'],
    ['tsnats', 'tsnats'],
  ] as Array<[Kind, Kind]>) {
    it(`${dialer} dialing ${peer}`, { skip: SKIP_NATS && peer === 'nats-server' ? SKIP_NATS : false }, async () => {
      let p: Node | undefined;
      let d: Node | undefined;
      try {
        const cport = await freePort();
        p = await startNode(peer, { name: 'P', clusterPort: cport });
        d = await startNode(dialer, { name: 'D', routes: [`nats-route://127.0.0.1:${cport}`] });
        await waitRoutes([p, d], 1);
        await p.stop();
        p = undefined;
        await until(async () => (await routez(d!)).num_routes === 0, 5000, 'route gone');
        p = await startNode(peer, { name: 'P', clusterPort: cport });
        await waitRoutes([p, d], 1, 10_000);
        await meshDelivers([p, d]);
        const rz = await routez(d);
        assert.equal(rz.routes[0]!.did_solicit, true);
        assert.equal(rz.routes[0]!.is_configured, true);
      } finally {
        await stopAll([p, d]);
      }
    });
  }
});

describe('mutual configuration: both nodes dial each other, one route remains', () => {
  for (const kb of ['tsnats', 'nats-server'] as Kind[]) {
    it(`tsnats <-> ${kb}`, { skip: SKIP_NATS && kb === 'nats-server' ? SKIP_NATS : false }, async () => {
      let a: Node | undefined;
      let b: Node | undefined;
      try {
        const pa = await freePort();
        const pb = await freePort();
        a = await startNode('tsnats', { name: 'A', clusterPort: pa, routes: [`nats-route://127.0.0.1:${pb}`] });
        b = await startNode(kb, { name: 'B', clusterPort: pb, routes: [`nats-route://127.0.0.1:${pa}`] });
        await waitRoutes([a, b], 1, 10_000);
        await sleep(1500);
        await waitRoutes([a, b], 1, 5000);
        await meshDelivers([a, b]);
      } finally {
        await stopAll([a, b]);
      }
    });
  }
});

describe('cluster name mismatch', () => {
  for (const [ka, kb] of [
    ['tsnats', 'nats-server'],
    ['nats-server', 'tsnats'],
    ['tsnats', 'tsnats'],
  ] as Array<[Kind, Kind]>) {
    it(`${kb} (C2) dialing ${ka} (C1) is rejected`, { skip: SKIP_NATS && (ka === 'nats-server' || kb === 'nats-server') ? SKIP_NATS : false }, async () => {
      let a: Node | undefined;
      let b: Node | undefined;
      try {
        a = await startNode(ka, { name: 'A', clusterName: 'C1' });
        b = await startNode(kb, { name: 'B', clusterName: 'C2', routes: [routeUrl(a)] });
        await until(() => a!.log().includes('Rejecting connection, cluster name "C2" does not match "C1"'), 5000, 'rejection log on A');
        await sleep(300);
        assert.equal((await routez(a)).num_routes, 0);
        assert.equal((await routez(b)).num_routes, 0);
        assert.match(a.log(), /Router connection closed: Cluster Name Conflict/);
      } finally {
        await stopAll([a, b]);
      }
    });
  }

  it('a node without a name adopts the name of its peer', async () => {
    let a: Node | undefined;
    let b: Node | undefined;
    try {
      a = await startNode('tsnats', { name: 'A', clusterName: 'C1' });
      b = await startNode('tsnats', { name: 'B', clusterName: null, routes: [routeUrl(a)] });
      await waitRoutes([a, b], 1);
      assert.match(b.log(), /Cluster name updated to C1/);
    } finally {
      await stopAll([a, b]);
    }
  });
});

describe('route authorization', () => {
  for (const kb of ['tsnats', 'nats-server'] as Kind[]) {
    it(`${kb} with wrong credentials is refused by tsnats; right ones are accepted`, { skip: SKIP_NATS && kb === 'nats-server' ? SKIP_NATS : false }, async () => {
      let a: Node | undefined;
      let b: Node | undefined;
      let c: Node | undefined;
      try {
        a = await startNode('tsnats', { name: 'A', cluster: 'authorization { user: ruser, password: rpass, timeout: 1 }' });
        b = await startNode(kb, { name: 'B', routes: [routeUrl(a, 'ruser:wrong@')] });
        await until(() => a!.log().includes('Router connection closed: Authentication Failure'), 5000, 'auth failure on A');
        assert.match(a.log(), /authentication error/);
        assert.equal((await routez(a)).num_routes, 0);
        c = await startNode(kb, { name: 'C', routes: [routeUrl(a, 'ruser:rpass@')] });
        await until(async () => (await routez(c!)).num_routes === 1, 5000, 'authorized route');
      } finally {
        await stopAll([a, b, c]);
      }
    });
  }

  it('tsnats with wrong credentials is refused by nats-server', { skip: SKIP_NATS }, async () => {
    let a: Node | undefined;
    let b: Node | undefined;
    try {
      a = await startNode('nats-server', { name: 'A', cluster: 'authorization { user: ruser, password: rpass, timeout: 1 }' });
      b = await startNode('tsnats', { name: 'B', routes: [routeUrl(a, 'ruser:wrong@')] });
      await until(() => b!.log().includes("Route Error 'Authorization Violation'"), 5000, 'auth error on B');
      assert.equal((await routez(a)).num_routes, 0);
    } finally {
      await stopAll([a, b]);
    }
  });
});

/** Raw protocol-1 client: returns INFO lines as they come. */
function rawClient(port: number): { infos: Array<Record<string, unknown>>; close(): void } {
  const infos: Array<Record<string, unknown>> = [];
  const s = netConnect(port, '127.0.0.1');
  let buf = '';
  s.on('data', (d) => {
    buf += d.toString('latin1');
    let i;
    while ((i = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (line.startsWith('INFO ')) infos.push(JSON.parse(line.slice(5)) as Record<string, unknown>);
    }
  });
  s.on('error', () => undefined);
  s.write('CONNECT {"protocol":1,"verbose":false}\r\nPING\r\n');
  return { infos, close: () => s.destroy() };
}

describe('clients see the cluster', () => {
  for (const kb of ['tsnats', 'nats-server'] as Kind[]) {
    it(`connect_urls and async INFO on tsnats when ${kb} joins and leaves`, { skip: SKIP_NATS && kb === 'nats-server' ? SKIP_NATS : false }, async () => {
      let a: Node | undefined;
      let b: Node | undefined;
      try {
        a = await startNode('tsnats', { name: 'A' });
        const rc = rawClient(a.port);
        await until(() => rc.infos.length >= 1, 2000, 'first INFO');
        assert.equal(rc.infos[0]!.cluster, 'C1');
        assert.equal(rc.infos[0]!.connect_urls, undefined);
        await sleep(100);
        b = await startNode(kb, { name: 'B', routes: [routeUrl(a)] });
        await until(() => rc.infos.length >= 2, 5000, 'async INFO');
        assert.deepEqual(rc.infos[1]!.connect_urls, [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
        const vz = (await (await fetch(`${a.monitor}/varz`)).json()) as Record<string, unknown>;
        assert.equal(vz.routes, 1);
        assert.equal((vz.cluster as Record<string, unknown>).name, 'C1');
        await b.stop();
        b = undefined;
        await until(() => rc.infos.length >= 3, 5000, 'async INFO after leave');
        assert.deepEqual(rc.infos[2]!.connect_urls, [`127.0.0.1:${a.port}`]);
        rc.close();
      } finally {
        await stopAll([a, b]);
      }
    });
  }

  it('nats-server clients learn the tsnats node', { skip: SKIP_NATS }, async () => {
    let a: Node | undefined;
    let b: Node | undefined;
    try {
      a = await startNode('nats-server', { name: 'A' });
      const rc = rawClient(a.port);
      await until(() => rc.infos.length >= 1, 2000, 'first INFO');
      await sleep(100);
      b = await startNode('tsnats', { name: 'B', routes: [routeUrl(a)] });
      await until(() => rc.infos.length >= 2, 5000, 'async INFO');
      assert.ok((rc.infos[1]!.connect_urls as string[]).includes(`127.0.0.1:${b.port}`));
      rc.close();
    } finally {
      await stopAll([a, b]);
    }
  });

  for (const kb of ['tsnats', 'nats-server'] as Kind[]) {
    it(`lame duck mode on tsnats: clients of ${kb} stop seeing its URL`, { skip: SKIP_NATS && kb === 'nats-server' ? SKIP_NATS : false }, async () => {
      let a: Node | undefined;
      let b: Node | undefined;
      try {
        a = await startNode('tsnats', { name: 'A' });
        b = await startNode(kb, { name: 'B', routes: [routeUrl(a)] });
        await waitRoutes([a, b], 1);
        const keep = await client(a); // so that A waits before closing
        const rc = rawClient(b.port);
        await until(() => rc.infos.some((i) => ((i.connect_urls as string[] | undefined) ?? []).includes(`127.0.0.1:${a!.port}`)), 3000, 'A advertised');
        const n = rc.infos.length;
        void a.ts!.server.lameDuckMode();
        await until(() => rc.infos.length > n, 5000, 'async INFO on B');
        assert.deepEqual(rc.infos[rc.infos.length - 1]!.connect_urls, [`127.0.0.1:${b.port}`]);
        rc.close();
        await keep.close().catch(() => undefined);
      } finally {
        await stopAll([a, b]);
      }
    });
  }

  it('no_advertise: no connect_urls for clients', async () => {
    let a: Node | undefined;
    let b: Node | undefined;
    try {
      a = await startNode('tsnats', { name: 'A', cluster: 'no_advertise: true' });
      b = await startNode('tsnats', { name: 'B', routes: [routeUrl(a)] });
      await waitRoutes([a, b], 1);
      const rc = rawClient(a.port);
      await until(() => rc.infos.length >= 1, 2000, 'first INFO');
      assert.equal(rc.infos[0]!.connect_urls, undefined);
      rc.close();
    } finally {
      await stopAll([a, b]);
    }
  });
});

describe('reload adds and removes routes', () => {
  it('tsnats: SIGHUP-style reload with a new route, then without it', { skip: SKIP_NATS }, async () => {
    let a: Node | undefined;
    let b: Node | undefined;
    try {
      b = await startNode('nats-server', { name: 'B' });
      a = await startNode('tsnats', { name: 'A' });
      assert.equal((await routez(a)).num_routes, 0);
      await a.reload(nodeConf({ name: 'A', routes: [routeUrl(b)] }));
      await waitRoutes([a, b], 1);
      await a.reload(nodeConf({ name: 'A' }));
      await until(async () => (await routez(a!)).num_routes === 0, 5000, 'route removed');
      assert.match(a.log(), /Router connection closed: Route Removed/);
    } finally {
      await stopAll([a, b]);
    }
  });
});
