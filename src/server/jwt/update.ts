// Account JWT updates (nats-server 2.9.10 updateAccountClaimsWithRefresh, and reloadAuthorization
// with a MEMORY resolver): the account's configuration is replaced (subscriptions stay), then its
// JWT users are re-checked in order — beyond the account's connection limit:
// ERR_MAX_ACCOUNT_CONNECTIONS; a bearer user when bearer tokens are now disallowed:
// ERR_AUTH_VIOLATION; a revoked user: ERR_USER_AUTH_REVOKED.
// On reload with a MEMORY resolver every registered account is fetched again from the new
// preloads; one that is gone is forgotten (`Reloaded: deleting account [removed]: "A..."`).

import type { OperatorOptions } from '../../config/operator.js';
import { ERR_AUTH_VIOLATION, ERR_MAX_ACCOUNT_CONNECTIONS, ERR_USER_AUTH_REVOKED } from '../../protocol/errors.js';
import { ClosedReason, type Client } from '../client.js';
import type { Server } from '../server.js';
import type { SystemEvents } from '../events/system.js';
import { decodeAccountClaims, isRevoked, NO_LIMIT, validateAccount, type AccountClaims } from './claims.js';
import { jwtAuthenticatorFor } from './strategy.js';

/** Applies new claims of a registered account to it and to its connected JWT users. */
export function applyAccountClaims(server: Server, claims: AccountClaims): void {
  const acc = server.accounts.get(claims.subject);
  if (!acc) return;
  acc.reconfigure(claims.config);
  const users: Client[] = [];
  for (const c of server.clients.values()) if (c.account === acc && c.session) users.push(c);
  users.sort((a, b) => a.cid - b.cid);
  users.forEach((c, i) => {
    const s = c.session!;
    if (claims.conn !== NO_LIMIT && i >= claims.conn) {
      c.sendErr(ERR_MAX_ACCOUNT_CONNECTIONS);
      c.close(ClosedReason.MaxAccountConnectionsExceeded);
    } else if (s.bearer && claims.disallowBearer) {
      c.sendErr(ERR_AUTH_VIOLATION);
      c.close(ClosedReason.AuthenticationViolation);
    } else if (isRevoked(claims.revocations, s.pubKey, s.issuedAt)) {
      c.sendErr(ERR_USER_AUTH_REVOKED);
      c.close(ClosedReason.Revocation);
    }
  });
  // A user (or leaf) issued by a signing key the account no longer lists is closed without an
  // error message (nats-server's signersChanged pass).
  const signerGone = (issuerKey: string): boolean => issuerKey !== claims.subject && !claims.signingKeys.has(issuerKey);
  for (const c of users) if (!c.isClosed && signerGone(c.session!.issuerKey)) c.close(ClosedReason.AuthenticationViolation);
  // Leaf connections authenticated with a user JWT of the account (nats-server's account clients include leafs).
  for (const l of [...(server.leafnodes?.conns ?? [])]) {
    const s = l.session;
    if (l.account !== acc || !s || l.closed) continue;
    if ((s.bearer && claims.disallowBearer) || isRevoked(claims.revocations, s.pubKey, s.issuedAt)) {
      l.sendErr(s.bearer && claims.disallowBearer ? ERR_AUTH_VIOLATION : ERR_USER_AUTH_REVOKED);
      // LeafClosed.AuthenticationViolation / .Revocation (leaf.ts is not loaded for this).
      l.close(s.bearer && claims.disallowBearer ? 'Authentication Violation' : 'Credentials Revoked');
    } else if (signerGone(s.issuerKey)) l.close('Authentication Violation');
  }
  // Exports, imports and mappings follow the new claims (and those of the accounts importing from it).
  if (server.links) server.links.apply(server.options);
}

/**
 * nats-server 2.9.10's accountClaimUpdate, for the resolvers that do not track updates themselves
 * (MEMORY and URL): `$SYS.ACCOUNT.<acc>.CLAIMS.UPDATE` (the account server's announcement) and
 * `$SYS.REQ.ACCOUNT.<acc>.CLAIMS.UPDATE` (a request, answered) carry a newer account JWT; a
 * registered account takes it (an unknown one is skipped: the next login resolves it). The
 * resolver itself is not written (a MEMORY resolver's preloads stay as configured).
 */
export function installClaimUpdates(server: Server, ev: SystemEvents, op: OperatorOptions, systemAccount: string | undefined): void {
  const strategy = jwtAuthenticatorFor(op, systemAccount);
  const log = server.logger;
  const respond = (reply: string | undefined, acc: string, message: string, err?: string): void => {
    if (err === undefined) log.debug(`${message} - ${acc}`);
    else log.error(`${message} - ${acc} - ${err}`);
    if (!reply) return;
    const m: Record<string, unknown> = { account: acc };
    ev.bus.publish(reply, undefined, () => {
      if (err === undefined) return { data: { ...m, code: 200, message }, server: ev.serverInfo() };
      return { error: { ...m, code: 500, description: `${message} - ${err}` }, server: ev.serverInfo() };
    });
  };
  const handler = (subject: string, reply: string | undefined, _h: Buffer | null, data: Buffer): void => {
    const toks = subject.split('.');
    const pubKey = toks.length === 6 ? toks[3]! : toks.length === 5 ? toks[2]! : '';
    if (pubKey === '') {
      log.debug(`Received account claims update on bad subject ${JSON.stringify(subject)}`);
      return;
    }
    if (data.length === 0) return respond(reply, pubKey, 'jwt update error', 'request body is empty');
    const text = data.toString('latin1');
    let claims: AccountClaims;
    try {
      claims = decodeAccountClaims(text);
    } catch (e) {
      return respond(reply, pubKey, 'jwt update resulted in error', (e as Error).message);
    }
    if (claims.subject !== pubKey) return respond(reply, pubKey, 'jwt update resulted in error', 'subject does not match jwt content');
    const acc = server.accounts.get(pubKey);
    if (!acc || !acc.dynamic) return respond(reply, pubKey, 'jwt update skipped');
    // The same JWT again is a no-op (as nats-server's sameClaim).
    if (strategy.registered.get(pubKey)?.claims.jwt.raw === text) {
      log.debug(`Requested account update for [${pubKey}], same claims detected`);
      return respond(reply, pubKey, 'jwt updated');
    }
    if (!strategy.trusted.has(claims.issuer) || validateAccount(claims)) return respond(reply, pubKey, 'jwt update resulted in error', 'account validation failed');
    log.debug(`Updating account claims: ${pubKey}/${claims.name}`);
    strategy.updateAccount(claims);
    applyAccountClaims(server, claims);
    respond(reply, pubKey, 'jwt updated');
  };
  ev.bus.subscribe('$SYS.ACCOUNT.*.CLAIMS.UPDATE', handler);
  ev.bus.subscribe('$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE', handler);
}

/** After a reload in operator mode with a MEMORY resolver: every registered account re-read from the preloads. */
export function reloadMemoryAccounts(server: Server, op: OperatorOptions, systemAccount: string | undefined): void {
  if (op.resolver?.kind !== 'memory') return;
  const strategy = jwtAuthenticatorFor(op, systemAccount);
  for (const acc of [...server.accounts.all()]) {
    if (!acc.dynamic) continue;
    const jwt = op.resolverPreload[acc.name];
    let claims: AccountClaims | undefined;
    try {
      claims = jwt !== undefined ? decodeAccountClaims(jwt) : undefined;
    } catch {
      claims = undefined;
    }
    if (!claims) {
      server.logger.notice(`Reloaded: deleting account [removed]: ${JSON.stringify(acc.name)}`);
      strategy.forgetAccount(acc.name);
      continue;
    }
    if (!strategy.trusted.has(claims.issuer) || validateAccount(claims)) {
      server.logger.notice(`Reloaded: deleting account [bad claims]: ${JSON.stringify(acc.name)}`);
      strategy.forgetAccount(acc.name);
      continue;
    }
    strategy.updateAccount(claims);
    applyAccountClaims(server, claims);
  }
}
