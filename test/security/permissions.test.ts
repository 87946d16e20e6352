// Permissions cannot be bypassed with wildcards or odd subjects. A user connection tries each
// operation; an admin connection subscribed to `>` (and, for subscribe checks, an admin publisher)
// shows what was really delivered. Every outcome is written out below (nats-server semantics:
// subjects are case-sensitive byte strings, a publish subject is matched literally, a SUB must be
// covered by an allow filter and must not match a deny filter, queue-specific entries restrict the
// queue, a wildcard SUB that only overlaps a deny filter is accepted and the denied subjects are
// filtered at delivery). The same matrix runs against the real nats-server when it is installed,
// and both must agree with the expectations, except where nats-server 2.9 leaks (marked
// `overlapLeak`: asserted as nats-server's actual behaviour there).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NATS_SERVER, RawClient, spawnNatsServer, startInProc, tempDir, type Child, type InProc } from '../hostile/harness.js';

const CONF = `
authorization {
  users: [
    { user: admin, password: pw }
    { user: limited, password: pw, permissions: { publish: { allow: ["foo.bar"] }, subscribe: { allow: ["foo.bar"] } } }
    { user: queue, password: pw, permissions: { subscribe: { allow: ["q.sub grp1"] } } }
    { user: denyer, password: pw, permissions: { publish: { allow: [">"], deny: ["secret.>"] }, subscribe: { allow: [">"], deny: ["secret.>"] } } }
  ]
}
`;

type PubCase = { user: string; subject: string; delivered: boolean };
type SubCase = {
  user: string;
  sub: string;
  queue?: string;
  allowed: boolean;
  /** Subjects the admin publishes, and which of them the user must receive. */
  probe?: Array<[string, boolean]>;
  /**
   * A wildcard SUB that only partly overlaps a deny filter (`*.x` vs deny `secret.>`): nats-server
   * 2.9 installs its delivery-time deny filter only when the deny subject is a subset of the SUB
   * subject, so it delivers `secret.x` here (asserted as its behaviour). tsnats filters it (found by
   * this suite, fixed in 48c7864).
   */
  overlapLeak?: boolean;
};

const PUBS: PubCase[] = [
  { user: 'limited', subject: 'foo.bar', delivered: true },
  { user: 'limited', subject: 'foo.*', delivered: false },
  { user: 'limited', subject: 'foo.>', delivered: false },
  { user: 'limited', subject: '>', delivered: false },
  { user: 'limited', subject: '*.bar', delivered: false },
  { user: 'limited', subject: '*', delivered: false },
  { user: 'limited', subject: 'FOO.BAR', delivered: false },
  { user: 'limited', subject: 'Foo.bar', delivered: false },
  { user: 'limited', subject: 'foo.bar.', delivered: false },
  { user: 'limited', subject: 'foo..bar', delivered: false },
  { user: 'limited', subject: '.foo.bar', delivered: false },
  { user: 'limited', subject: 'foo.bar.baz', delivered: false },
  { user: 'limited', subject: 'foo', delivered: false },
  { user: 'limited', subject: 'f\u00f6o.bar', delivered: false }, // ö
  { user: 'limited', subject: 'f\u03bfo.bar', delivered: false }, // Greek omicron
  { user: 'limited', subject: '\uff46oo.bar', delivered: false }, // fullwidth f
  { user: 'limited', subject: 'foo.bar\u200b', delivered: false }, // zero-width space
  { user: 'limited', subject: 'foo.ba\u0072\u0301', delivered: false }, // combining accent
  { user: 'denyer', subject: 'public.x', delivered: true },
  { user: 'denyer', subject: 'secret.x', delivered: false },
  { user: 'denyer', subject: 'secret.x.y', delivered: false },
  { user: 'denyer', subject: 'secret.*', delivered: false },
  { user: 'denyer', subject: 'secret.>', delivered: false },
  { user: 'denyer', subject: 'secret', delivered: true }, // `secret.>` needs a token after `secret`
  { user: 'denyer', subject: 'SECRET.x', delivered: true }, // another subject: cannot reach secret.x (checked below)
];

const SUBS: SubCase[] = [
  { user: 'limited', sub: 'foo.bar', allowed: true, probe: [['foo.bar', true], ['foo.baz', false]] },
  { user: 'limited', sub: 'foo.bar', queue: 'anyq', allowed: true, probe: [['foo.bar', true]] },
  { user: 'limited', sub: 'foo.*', allowed: false },
  { user: 'limited', sub: 'foo.>', allowed: false },
  { user: 'limited', sub: '>', allowed: false },
  { user: 'limited', sub: '*.bar', allowed: false },
  { user: 'limited', sub: '*.*', allowed: false },
  { user: 'limited', sub: 'FOO.BAR', allowed: false },
  { user: 'limited', sub: 'foo.*', queue: 'q', allowed: false },
  { user: 'limited', sub: '>', queue: 'q', allowed: false },
  { user: 'limited', sub: 'f\u00f6o.bar', allowed: false },
  { user: 'queue', sub: 'q.sub', queue: 'grp1', allowed: true, probe: [['q.sub', true]] },
  { user: 'queue', sub: 'q.sub', queue: 'grp2', allowed: false },
  { user: 'queue', sub: 'q.sub', allowed: false },
  { user: 'queue', sub: 'q.*', queue: 'grp1', allowed: false },
  { user: 'queue', sub: '>', queue: 'grp1', allowed: false },
  { user: 'queue', sub: 'q.sub', queue: 'grp*', allowed: false },
  { user: 'queue', sub: 'q.sub', queue: 'GRP1', allowed: false },
  { user: 'denyer', sub: 'secret.x', allowed: false },
  { user: 'denyer', sub: 'secret.*', allowed: false },
  { user: 'denyer', sub: 'secret.>', allowed: false },
  { user: 'denyer', sub: '>', allowed: true, probe: [['public.x', true], ['secret.x', false], ['secret.x.y', false], ['secret', true]] },
  { user: 'denyer', sub: '*.x', allowed: true, probe: [['public.x', true], ['secret.x', false]], overlapLeak: true },
  { user: 'denyer', sub: '*.*', queue: 'g', allowed: true, probe: [['public.x', true], ['secret.x', false]], overlapLeak: true },
  { user: 'denyer', sub: 'secret', allowed: true, probe: [['secret', true]] },
  { user: 'denyer', sub: 'SECRET.x', allowed: true, probe: [['secret.x', false], ['SECRET.x', true]] },
];

interface Target {
  port: number;
  stop(): Promise<void>;
}

async function login(port: number, user: string): Promise<RawClient> {
  const c = await RawClient.connect(port);
  c.send(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, user, pass: 'pw' })}\r\n`);
  await c.flush();
  return c;
}

/** What a publish by `user` to `subject` does: the -ERR (if any) and whether the admin received it. */
async function tryPub(port: number, pc: PubCase): Promise<{ err: string | null; delivered: boolean }> {
  const admin = await login(port, 'admin');
  const wire = Buffer.from(pc.subject, 'utf8');
  admin.send('SUB > 1\r\n');
  await admin.flush();
  const u = await login(port, pc.user);
  u.send(Buffer.concat([Buffer.from('PUB '), wire, Buffer.from(' 2\r\nhi\r\nPING\r\n')]));
  await u.waitFor(/PONG\r\n[\s\S]*PONG\r\n/, 5000).catch(() => undefined);
  await admin.flush();
  const err = /-ERR '([^']*)'/.exec(u.text)?.[1] ?? null;
  const delivered = admin.text.includes(`MSG ${wire.toString('latin1')} 1 2\r\n`);
  u.close();
  admin.close();
  return { err, delivered };
}

/** A SUB by `user`: the -ERR (if any), then which of the admin's publishes reached the user. */
async function trySub(port: number, sc: SubCase): Promise<{ err: string | null; received: Array<[string, boolean]> }> {
  const u = await login(port, sc.user);
  const wire = Buffer.from(sc.sub, 'utf8').toString('latin1');
  const q = sc.queue !== undefined ? ` ${Buffer.from(sc.queue, 'utf8').toString('latin1')}` : '';
  u.send(Buffer.from(`SUB ${wire}${q} 7\r\n`, 'latin1'));
  await u.flush();
  const err = /-ERR '([^']*)'/.exec(u.text)?.[1] ?? null;
  const received: Array<[string, boolean]> = [];
  if (sc.probe) {
    const admin = await login(port, 'admin');
    for (const [subject] of sc.probe) admin.send(`PUB ${subject} 2\r\nhi\r\n`);
    await admin.flush();
    await u.flush();
    for (const [subject] of sc.probe) received.push([subject, u.text.includes(`MSG ${subject} 7 2\r\n`)]);
    admin.close();
  }
  u.close();
  return { err, received };
}

function checkPub(pc: PubCase, r: { err: string | null; delivered: boolean }, who: string): void {
  assert.equal(r.delivered, pc.delivered, `${who}: ${pc.user} PUB ${JSON.stringify(pc.subject)} delivered`);
  if (!pc.delivered && r.err === null) {
    // Not delivered must mean refused: a silent drop would hide a missing check.
    assert.fail(`${who}: ${pc.user} PUB ${JSON.stringify(pc.subject)} neither delivered nor refused`);
  }
  if (!pc.delivered) assert.match(r.err!, /^Permissions Violation for Publish to /, `${who}: the refusal is a permissions violation`);
  else assert.equal(r.err, null, `${who}: no -ERR`);
}

function checkSub(sc: SubCase, r: { err: string | null; received: Array<[string, boolean]> }, who: string, leakExpected = false): void {
  if (leakExpected && sc.overlapLeak) sc = { ...sc, probe: sc.probe!.map(([s, v]): [string, boolean] => [s, s.startsWith('secret.') ? true : v]) };
  const what = `${who}: ${sc.user} SUB ${JSON.stringify(sc.sub)}${sc.queue !== undefined ? ` queue ${JSON.stringify(sc.queue)}` : ''}`;
  if (sc.allowed) assert.equal(r.err, null, `${what} allowed`);
  else assert.match(r.err ?? '', /^Permissions Violation for Subscription to /, `${what} refused`);
  if (sc.probe) assert.deepEqual(r.received, sc.probe, `${what}: deliveries`);
}

function suite(name: string, start: () => Promise<Target>, opts: { skip?: string | false; natsServer?: boolean } = {}): void {
  describe(name, { skip: opts.skip ?? false }, () => {
    let t: Target;
    before(async () => {
      t = await start();
    });
    after(async () => t?.stop());
    it(`publish: ${PUBS.length} subjects`, async () => {
      for (const pc of PUBS) checkPub(pc, await tryPub(t.port, pc), name);
    });
    it(`subscribe: ${SUBS.length} subscriptions (wildcards, queues, case, unicode, deny filters)`, async () => {
      for (const sc of SUBS) checkSub(sc, await trySub(t.port, sc), name, opts.natsServer);
    });
  });
}

let tmp: { dir: string; remove(): void };
before(() => {
  tmp = tempDir('sec-perms');
});
after(() => tmp?.remove());

suite('tsnats', async () => {
  const s: InProc = await startInProc(tmp.dir, CONF);
  return { port: s.port, stop: () => s.stop() };
});

suite(
  'nats-server (the same expectations)',
  async () => {
    const out = await spawnNatsServer(tmp.dir, CONF);
    assert.ok(out.ready, out.proc.out());
    const p: Child = out.proc;
    return { port: p.port, stop: () => p.kill() };
  },
  { skip: NATS_SERVER ? false : 'nats-server not installed', natsServer: true },
);
