// JWT fixtures for the operator mode tests: an operator, accounts and users made with
// @nats-io/jwt and @nats-io/nkeys (as nsc does: limits written as -1 = no limit), a MEMORY
// resolver configuration, and a raw connection that signs the INFO nonce.

import { Algorithms, encodeAccount, encodeOperator, encodeUser, fmtCreds, type Account, type User } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { Conn } from '../wire/harness.js';

export const NO_LIMITS = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

export interface Op {
  kp: KeyPair;
  jwt: string;
  pub: string;
}

export async function operator(extra: Record<string, unknown> = {}, signingKeys: KeyPair[] = []): Promise<Op> {
  const kp = createOperator();
  const jwt = await encodeOperator('OP', kp, { signing_keys: signingKeys.map((k) => k.getPublicKey()), ...extra } as never);
  return { kp, jwt, pub: kp.getPublicKey() };
}

export interface Acc {
  kp: KeyPair;
  jwt: string;
  pub: string;
}

export async function account(
  signer: KeyPair,
  data: Partial<Account> & { limits?: Record<string, unknown> } = {},
  opts: { exp?: number; nbf?: number; name?: string; kp?: KeyPair } = {},
): Promise<Acc> {
  const kp = opts.kp ?? createAccount();
  const { limits, ...rest } = data;
  const jwt = await encodeAccount(opts.name ?? 'A', kp, { limits: { ...NO_LIMITS, ...(limits ?? {}) }, ...rest } as never, {
    signer,
    ...(opts.exp ? { exp: opts.exp } : {}),
    ...(opts.nbf ? { nbf: opts.nbf } : {}),
  });
  return { kp, jwt, pub: kp.getPublicKey() };
}

export interface Usr {
  kp: KeyPair;
  jwt: string;
  pub: string;
  creds: Uint8Array;
}

export async function user(
  accountKp: KeyPair,
  data: Partial<User> = {},
  opts: { exp?: number; nbf?: number; signer?: KeyPair; kp?: KeyPair; scoped?: boolean; name?: string } = {},
): Promise<Usr> {
  const kp = opts.kp ?? createUser();
  const jwt = await encodeUser(opts.name ?? 'U', kp, accountKp, data, {
    ...(opts.signer ? { signer: opts.signer } : {}),
    ...(opts.exp ? { exp: opts.exp } : {}),
    ...(opts.nbf ? { nbf: opts.nbf } : {}),
    ...(opts.scoped ? { scopedUser: true } : {}),
    algorithm: Algorithms.v2,
  });
  return { kp, jwt, pub: kp.getPublicKey(), creds: fmtCreds(jwt, kp) };
}

/** A MEMORY resolver configuration trusting `op` with the accounts preloaded. */
export function memoryConf(op: Op, accounts: Acc[], extra = ''): string {
  const pre = accounts.map((a) => `  ${a.pub}: "${a.jwt}"`).join('\n');
  return `operator: "${op.jwt}"\nresolver: MEMORY\nresolver_preload {\n${pre}\n}\n${extra}`;
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** A raw connection that reads INFO and sends CONNECT with the JWT and (unless `sig: false`) the nonce signature. */
export async function rawJwt(port: number, u: { jwt: string; kp?: KeyPair }, opts: { sig?: boolean | string; extra?: Record<string, unknown> } = {}): Promise<Conn> {
  const c = await Conn.open(port);
  const info = await c.info();
  const nonce = String(info.nonce ?? '');
  const connect: Record<string, unknown> = { verbose: false, pedantic: false, protocol: 1, jwt: u.jwt, ...(opts.extra ?? {}) };
  if (typeof opts.sig === 'string') connect.sig = opts.sig;
  else if (opts.sig !== false && u.kp) connect.sig = Buffer.from(u.kp.sign(new TextEncoder().encode(nonce))).toString('base64url');
  c.send(`CONNECT ${JSON.stringify(connect)}\r\nPING\r\n`);
  return c;
}

/** Waits until the raw connection got PONG (accepted) or an -ERR / close (refused); returns what it saw after INFO. */
export async function outcome(c: Conn, ms = 3000): Promise<string> {
  await c.waitFor((t) => /PONG\r\n|-ERR/.test(t.slice(t.indexOf('\r\n') + 2)), ms).catch(() => undefined);
  return c.afterInfo;
}
