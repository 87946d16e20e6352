// Connects per second with nkey and JWT (operator mode) authentication (issue 14): each
// connection is a TCP connect, INFO read, its nonce signed (node:crypto Ed25519, so the client
// costs little), CONNECT + PING, PONG awaited, close; `conc` connections at a time. Both servers
// get the same configuration: one nkey user among 100 (nkey), or an operator with a MEMORY
// resolver and the user's account preloaded among 10 accounts (jwt).

import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { connect } from 'node:net';
import { Algorithms, encodeAccount, encodeOperator, encodeUser } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';

export interface AuthSetup {
  conf: string;
  /** The CONNECT fields besides `sig`. */
  connect: Record<string, unknown>;
  /** Signs the INFO nonce (`sig`); absent for a password login. */
  key?: KeyObject;
}

function privateKey(kp: KeyPair): KeyObject {
  const seed = Buffer.from((kp as KeyPair & { getRawSeed(): Uint8Array }).getRawSeed());
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

export function nkeySetup(): AuthSetup {
  const users = Array.from({ length: 100 }, () => createUser());
  const me = users[57]!;
  return {
    conf: `authorization { users: [ { user: pw, password: x }, ${users.map((u) => `{ nkey: ${u.getPublicKey()} }`).join(', ')} ] }`,
    connect: { nkey: me.getPublicKey() },
    key: privateKey(me),
  };
}

export async function jwtSetup(): Promise<AuthSetup> {
  const op = createOperator();
  const opJwt = await encodeOperator('OP', op, {});
  const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
  const accounts = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const kp = createAccount();
      return { kp, jwt: await encodeAccount(`A${i}`, kp, { limits } as never, { signer: op }) };
    }),
  );
  const acc = accounts[7]!;
  const u = createUser();
  const uJwt = await encodeUser('U', u, acc.kp, { pub: { allow: ['>'] }, sub: { allow: ['>'] }, subs: -1, data: -1, payload: -1 } as never, { algorithm: Algorithms.v2 });
  const pre = accounts.map((a) => `  ${a.kp.getPublicKey()}: "${a.jwt}"`).join('\n');
  return { conf: `operator: "${opJwt}"\nresolver: MEMORY\nresolver_preload {\n${pre}\n}`, connect: { jwt: uJwt }, key: privateKey(u) };
}

/**
 * The system account's events on the connect path (issue 14): password users of account A, a
 * system account with a user, and (`watchSystem`) a `$SYS.>` subscriber receiving every connect,
 * disconnect and connection-count event while the connects run.
 */
export function sysSetup(): AuthSetup {
  return {
    conf: 'accounts {\n  SYS { users: [ { user: sys, password: x } ] }\n  A { users: [ { user: a, password: a } ] }\n}\nsystem_account: SYS',
    connect: { user: 'a', pass: 'a' },
  };
}

/** A raw `$SYS.>` subscriber (the system user of sysSetup) that reads and drops everything; resolves once subscribed. */
export function watchSystem(port: number): Promise<{ close(): void }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let seen = '';
    let subscribed = false;
    sock.on('data', (d: Buffer) => {
      if (subscribed) return;
      seen += d.toString('latin1');
      if (seen.includes('PONG\r\n')) {
        subscribed = true;
        resolve({ close: () => sock.destroy() });
      } else if (seen.includes('-ERR')) reject(new Error(seen.trim()));
    });
    sock.once('connect', () => sock.write('CONNECT {"verbose":false,"pedantic":false,"user":"sys","pass":"x"}\r\nSUB $SYS.> 1\r\nPING\r\n'));
    sock.on('error', reject);
  });
}

/** One connection: TCP connect, INFO, CONNECT (with the nonce signed when `s.key`) + PING, PONG, close. */
export function connectOnce(port: number, s: AuthSetup): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = '';
    let sent = false;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!sent) {
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const connect: Record<string, unknown> = { verbose: false, pedantic: false, ...s.connect };
        if (s.key) connect.sig = sign(null, Buffer.from((JSON.parse(buf.slice(5, i)) as { nonce: string }).nonce), s.key).toString('base64url');
        sock.write(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
        sent = true;
        buf = buf.slice(i + 2);
      }
      if (buf.includes('PONG\r\n')) {
        sock.destroy();
        resolve();
      } else if (buf.includes('-ERR')) {
        sock.destroy();
        reject(new Error(buf.trim()));
      }
    });
    sock.on('error', reject);
  });
}

/** Connects for `seconds` with `conc` in flight; the number done, failures, and the time taken. */
export async function connectFor(port: number, s: AuthSetup, seconds: number, conc: number): Promise<{ connects: number; failed: number; secs: number; firstError?: string }> {
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let connects = 0;
  let failed = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (performance.now() < end) {
        try {
          await connectOnce(port, s);
          connects++;
        } catch (e) {
          failed++;
          firstError ??= (e as Error).message;
          if (failed > 100) return;
        }
      }
    }),
  );
  return { connects, failed, secs: (performance.now() - t0) / 1000, firstError };
}
