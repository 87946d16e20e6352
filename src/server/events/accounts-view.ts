// What the system events, the system requests and the account monitoring endpoints read about
// accounts, behind one small interface. This is the only file that knows how the server keeps its
// accounts (until the accounts core lands: the global account `$G` holding every client, and a
// system account with its own, otherwise unreachable, subject index).

import type { Client, Subscription } from '../client.js';
import type { Server } from '../server.js';
import { SubjectIndex } from '../subjects.js';
import type { AccountStat } from './messages.js';

export const GLOBAL_ACCOUNT = '$G';
export const DEFAULT_SYSTEM_ACCOUNT = '$SYS';

export interface AccountsView {
  /** The system account's name; undefined with `no_system_account`. */
  readonly systemAccount: string | undefined;
  /** Every account, in nats-server's registry order ($G, the system account, then configured ones). */
  names(): string[];
  has(name: string): boolean;
  /** The account a client is bound to. */
  accountOf(c: Client): string;
  /** The open client connections of an account. */
  clients(name: string): Client[];
  stat(name: string): AccountStat;
  /** The account's subject index (undefined: unknown account). */
  index(name: string): SubjectIndex<Subscription> | undefined;
  /** Whether the account has JetStream enabled. */
  jetstream(name: string): boolean;
}

/** The system account's name per the options (nats-server 2.9.10 creates `$SYS` by default). */
export function systemAccountName(server: Server): string | undefined {
  const o = server.options;
  if (o.noSystemAccount) return undefined;
  return o.systemAccount || DEFAULT_SYSTEM_ACCOUNT;
}

/** Only `$G` and the system account exist: every client is in `$G`. */
class SingleAccountView implements AccountsView {
  readonly systemAccount: string | undefined;
  private readonly sysIndex = new SubjectIndex<Subscription>();

  constructor(private readonly server: Server) {
    this.systemAccount = systemAccountName(server);
  }
  names(): string[] {
    return this.systemAccount ? [GLOBAL_ACCOUNT, this.systemAccount] : [GLOBAL_ACCOUNT];
  }
  has(name: string): boolean {
    return name === GLOBAL_ACCOUNT || name === this.systemAccount;
  }
  accountOf(): string {
    return GLOBAL_ACCOUNT;
  }
  clients(name: string): Client[] {
    return name === GLOBAL_ACCOUNT ? [...this.server.clients.values()] : [];
  }
  stat(name: string): AccountStat {
    const s = this.server;
    if (name !== GLOBAL_ACCOUNT) return { acc: name, conns: 0, leafnodes: 0, sent: { msgs: 0, bytes: 0 }, received: { msgs: 0, bytes: 0 }, slowConsumers: 0 };
    return {
      acc: name,
      conns: s.clients.size,
      leafnodes: s.leafnodes?.conns.size ?? 0,
      sent: { msgs: s.outMsgs, bytes: s.outBytes },
      received: { msgs: s.inMsgs, bytes: s.inBytes },
      slowConsumers: s.slowConsumers,
    };
  }
  index(name: string): SubjectIndex<Subscription> | undefined {
    if (name === GLOBAL_ACCOUNT) return this.server.index;
    if (name === this.systemAccount) return this.sysIndex;
    return undefined;
  }
  jetstream(name: string): boolean {
    return name === GLOBAL_ACCOUNT && this.server.jetstream !== undefined;
  }
}

const views = new WeakMap<Server, AccountsView>();

export function accountsView(server: Server): AccountsView {
  let v = views.get(server);
  if (!v) {
    v = new SingleAccountView(server);
    views.set(server, v);
  }
  return v;
}
