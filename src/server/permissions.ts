// Publish/subscribe permissions compiled for fast checks. Semantics follow nats-server:
// - no allow list = everything allowed; a deny match always wins;
// - publish: the (literal) subject is matched against the filters;
// - subscribe: a SUB subject is allowed if it is covered by an allow filter (wildcard-aware:
//   `foo.*` is covered by `foo.>`), refused if it matches a deny filter; a wildcard SUB that
//   merely overlaps a deny filter is accepted, and messages on denied subjects are then filtered
//   out at delivery (nats-server's "deny filter");
// - queue-specific entries `"subject queue"` allow/deny only that queue group (queue may hold
//   wildcards);
// - `allow_responses`: a client that received a request may publish to its reply subject
//   (`max` times, within `expires`), even if its publish permissions say otherwise.
// Filters from the config are UTF-8 text and converted to the wire's latin1 domain here.

import type { Permissions, SubjectPermission } from '../config/types.js';
import { utf8ToWire, wireToUtf8 } from '../protocol/encode.js';
import { goQuote } from '../protocol/errors.js';
import { isLiteral, matchLiteral, subjectIsSubsetOf, subjectsIntersect } from './subjects.js';

interface Entry {
  subject: string;
  queue?: string;
}

function entries(list: readonly string[]): Entry[] {
  const out: Entry[] = [];
  for (const raw of list) {
    const parts = utf8ToWire(raw).trim().split(/[ \t]+/);
    if (parts.length === 0 || parts[0] === '') continue;
    out.push(parts.length > 1 ? { subject: parts[0]!, queue: parts[1]! } : { subject: parts[0]! });
  }
  return out;
}

const CACHE_MAX = 1024;

export class PublishRule {
  private readonly allow: Entry[] | null;
  private readonly deny: Entry[];
  private readonly cache = new Map<string, boolean>();

  constructor(p: SubjectPermission | undefined, denyAllByDefault: boolean) {
    if (p) {
      this.allow = p.allow.length > 0 || denyAllByDefault ? entries(p.allow) : null;
      this.deny = entries(p.deny);
    } else {
      this.allow = denyAllByDefault ? [] : null;
      this.deny = [];
    }
  }

  allowed(subject: string): boolean {
    const c = this.cache.get(subject);
    if (c !== undefined) return c;
    let ok = true;
    if (this.allow !== null) {
      ok = false;
      for (const e of this.allow) {
        if (matchLiteral(subject, e.subject)) {
          ok = true;
          break;
        }
      }
    }
    if (ok) {
      for (const e of this.deny) {
        if (matchLiteral(subject, e.subject)) {
          ok = false;
          break;
        }
      }
    }
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(subject, ok);
    return ok;
  }
}

function queueMatches(queue: string, list: Entry[]): boolean {
  for (const e of list) if (e.queue !== undefined && (e.queue === queue || matchLiteral(queue, e.queue))) return true;
  return false;
}

export class SubscribeRule {
  private readonly allow: Entry[] | null;
  private readonly deny: Entry[];
  /** Plain deny filters (checked at delivery for wildcard subscriptions that overlap them). */
  private readonly denyPlain: Entry[];
  private readonly deliveryCache = new Map<string, boolean>();

  constructor(p: SubjectPermission | undefined) {
    this.allow = p && p.allow.length > 0 ? entries(p.allow) : null;
    this.deny = p ? entries(p.deny) : [];
    this.denyPlain = this.deny.filter((e) => e.queue === undefined);
  }

  /** May this client subscribe to `subject` (in `queue`)? */
  allowed(subject: string, queue?: string): boolean {
    let ok = true;
    if (this.allow !== null) {
      const matched = this.allow.filter((e) => subjectIsSubsetOf(subject, e.subject));
      ok = matched.some((e) => e.queue === undefined);
      if (queue !== undefined && matched.some((e) => e.queue !== undefined)) ok = queueMatches(queue, matched);
    }
    if (ok && this.deny.length > 0) {
      const matched = this.deny.filter((e) => matchLiteral(subject, e.subject));
      ok = !matched.some((e) => e.queue === undefined);
      if (queue !== undefined && matched.some((e) => e.queue !== undefined)) ok = !queueMatches(queue, matched);
    }
    return ok;
  }

  /** Does a (wildcard) subscription on `subject` need delivery-time deny filtering? */
  needsDeliveryFilter(subject: string): boolean {
    if (this.denyPlain.length === 0 || isLiteral(subject)) return false;
    // Any overlap counts: `*.x` with deny `secret.>` can receive `secret.x` (nats-server 2.9.10 misses this).
    for (const e of this.denyPlain) if (subjectsIntersect(e.subject, subject)) return true;
    return false;
  }

  /** Delivery-time check for subscriptions flagged by needsDeliveryFilter. */
  deliverable(subject: string): boolean {
    const c = this.deliveryCache.get(subject);
    if (c !== undefined) return c;
    let ok = true;
    for (const e of this.denyPlain) {
      if (matchLiteral(subject, e.subject)) {
        ok = false;
        break;
      }
    }
    if (this.deliveryCache.size >= CACHE_MAX) this.deliveryCache.clear();
    this.deliveryCache.set(subject, ok);
    return ok;
  }
}

/** A user's permissions, compiled. Shared by all connections of that user. */
export class CompiledPermissions {
  readonly publish: PublishRule | null;
  readonly subscribe: SubscribeRule | null;
  readonly responses: { max: number; expiresMs: number } | null;

  constructor(p: Permissions) {
    this.responses = p.allowResponses ? { ...p.allowResponses } : null;
    // With allow_responses and no publish allow list, only reply subjects may be published to.
    this.publish = p.publish || this.responses ? new PublishRule(p.publish, this.responses !== null) : null;
    this.subscribe = p.subscribe ? new SubscribeRule(p.subscribe) : null;
  }

  static from(p: Permissions | undefined): CompiledPermissions | null {
    if (!p || (!p.publish && !p.subscribe && !p.allowResponses)) return null;
    return new CompiledPermissions(p);
  }
}

/** Per-connection state for `allow_responses`: reply subjects it may publish to. */
export class ResponsePermits {
  private readonly permits = new Map<string, { left: number; expires: number }>();
  constructor(private readonly max: number, private readonly expiresMs: number) {}

  grant(reply: string, now: number): void {
    if (this.permits.size > 10_000) this.prune(now);
    this.permits.set(reply, { left: this.max > 0 ? this.max : 1, expires: this.expiresMs > 0 ? now + this.expiresMs : Infinity });
  }

  /** Consumes one use of the permit for `subject`, if there is a valid one. */
  use(subject: string, now: number): boolean {
    const p = this.permits.get(subject);
    if (p === undefined) return false;
    if (p.expires < now) {
      this.permits.delete(subject);
      return false;
    }
    if (--p.left <= 0) this.permits.delete(subject);
    return true;
  }

  private prune(now: number): void {
    for (const [k, v] of this.permits) if (v.expires < now) this.permits.delete(k);
  }
}

/** nats-server's log line for a subscription a reload removed (`user`: the CONNECT user name, if any). */
export function removedByReloadLog(subject: string, sid: string, user: string | undefined): string {
  const who = user ? `User ${goQuote(utf8ToWire(user))}` : 'User "N/A"';
  return wireToUtf8(`Removed sub ${goQuote(subject)} (sid ${goQuote(sid)}) for ${who} - not authorized`);
}

/** What the reload re-check needs from a subscription. */
export interface ReloadCheckedSub {
  readonly subject: string;
  readonly queue: string | undefined;
  denyFilter: boolean;
}

/**
 * After a reload changed a connection's permissions (nats-server's processSubsOnConfigReload):
 * returns the subscriptions the new permissions deny, in the connection's order — a subscription
 * stays when its subject is allowed, or (queue subscription) its subject with its queue — and
 * re-flags the others for delivery-time deny filtering under the new permissions.
 */
export function subscriptionsDeniedByReload<T extends ReloadCheckedSub>(perms: CompiledPermissions | null, subs: Iterable<T>): T[] {
  const rule = perms?.subscribe ?? null;
  const denied: T[] = [];
  for (const sub of subs) {
    if (rule === null) {
      sub.denyFilter = false;
      continue;
    }
    const ok = rule.allowed(sub.subject) || (sub.queue !== undefined && rule.allowed(sub.subject, sub.queue));
    if (!ok) denied.push(sub);
    else sub.denyFilter = rule.needsDeliveryFilter(sub.subject);
  }
  return denied;
}
