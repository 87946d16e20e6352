// The nkey branch of nats-server 2.9.10's processClientOrLeafAuthentication: a CONNECT with an
// `nkey` the configuration lists must carry `sig`, the Ed25519 signature of this connection's
// nonce. The client learns nothing beyond the usual authorization violation error (nats-server
// says why at debug level only). The signature check is asynchronous (thread pool): the client's
// later operations wait for it, as for a bcrypt password.

import type { NkeyUserEntry } from '../config/types.js';
import type { AuthResult, Credentials } from './auth.js';
import { decodeSig, isValidPublicUserKey, NkeyVerifier } from './nkey.js';
import { CompiledPermissions } from './permissions.js';

export interface NkeyUser {
  nkey: string;
  /** The account the user belongs to (absent: `$G`). */
  account?: string;
  allowedConnectionTypes?: string[];
  verifier: NkeyVerifier;
  permissions: CompiledPermissions | null;
}

/** The configured nkey users by public key (their own permissions, else the defaults). */
export function compileNkeys(entries: NkeyUserEntry[] | undefined, defaults: CompiledPermissions | null): Map<string, NkeyUser> {
  const m = new Map<string, NkeyUser>();
  for (const e of entries ?? []) {
    // Options given in code (startServer({ authorization: { nkeys } })) skip the config checks.
    if (!isValidPublicUserKey(e.nkey)) throw new Error(`Not a valid public nkey for a user: ${JSON.stringify(e.nkey)}`);
    const u: NkeyUser = { nkey: e.nkey, verifier: new NkeyVerifier(e.nkey), permissions: CompiledPermissions.from(e.permissions) ?? defaults };
    if (e.account !== undefined) u.account = e.account;
    if (e.allowedConnectionTypes) u.allowedConnectionTypes = e.allowedConnectionTypes;
    m.set(e.nkey, u);
  }
  return m;
}

/** Checks a CONNECT that carries an `nkey` against the configured nkey users. */
export function checkNkey(nkeys: Map<string, NkeyUser>, c: Credentials, connType = 'STANDARD'): AuthResult | Promise<AuthResult> {
  const fail: AuthResult = { ok: false, log: 'authentication error' };
  const u = c.nkey ? nkeys.get(c.nkey) : undefined;
  if (!u) return fail;
  const types = u.allowedConnectionTypes;
  if (types && types.length > 0 && !types.includes(connType)) return { ...fail, debug: 'Connection type not allowed' };
  if (!c.sig) return { ...fail, debug: 'Signature missing' };
  const sig = decodeSig(c.sig);
  if (!sig) return { ...fail, debug: 'Signature not valid base64' };
  const ok: AuthResult = u.account !== undefined ? { ok: true, user: u.nkey, permissions: u.permissions, account: u.account } : { ok: true, user: u.nkey, permissions: u.permissions };
  const bad: AuthResult = { ...fail, debug: 'Signature not verified' };
  return u.verifier.verifyAsync(c.nonce ?? '', sig).then((good) => (good ? ok : bad));
}
