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
  key: KeyObject;
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

function once(port: number, s: AuthSetup): Promise<void> {
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
        const info = JSON.parse(buf.slice(5, i)) as { nonce: string };
        const sig = sign(null, Buffer.from(info.nonce), s.key).toString('base64url');
        sock.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...s.connect, sig })}\r\nPING\r\n`);
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
          await once(port, s);
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
