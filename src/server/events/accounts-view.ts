// What the system events, the system requests and the account monitoring endpoints read about
// accounts, behind one small interface over the server's account registry (src/server/accounts/).

import type { Client, Subscription } from '../client.js';
import type { Server } from '../server.js';
import type { SubjectIndex } from '../subjects.js';
import type { AccountStat } from './messages.js';

export { GLOBAL_ACCOUNT } from '../../config/accounts.js';

export interface AccountsView {
  /** The system account's name; undefined with `no_system_account`. */
  readonly systemAccount: string | undefined;
  /** Every account, in the registry's order. */
  names(): string[];
  has(name: string): boolean;
  /** The account a client is bound to. */
  accountOf(c: Client): string;
  stat(name: string): AccountStat;
  /** The account's subject index (undefined: unknown account). */
  index(name: string): SubjectIndex<Subscription> | undefined;
  /** Whether the account has JetStream enabled. */
  jetstream(name: string): boolean;
  /** When the account was (re)configured. */
  updated(name: string): number;
}

class RegistryView implements AccountsView {
  constructor(private readonly server: Server) {}
  get systemAccount(): string | undefined {
    return this.server.accounts.system?.name;
  }
  names(): string[] {
    return [...this.server.accounts.all()].map((a) => a.name);
  }
  has(name: string): boolean {
    return this.server.accounts.get(name) !== undefined;
  }
  accountOf(c: Client): string {
    return c.account.name;
  }
  stat(name: string): AccountStat {
    const a = this.server.accounts.get(name);
    if (!a) return { acc: name, conns: 0, leafnodes: 0, sent: { msgs: 0, bytes: 0 }, received: { msgs: 0, bytes: 0 }, slowConsumers: 0 };
    return {
      acc: name,
      conns: a.numClients,
      leafnodes: a.numLeafs,
      sent: { msgs: a.outMsgs, bytes: a.outBytes },
      received: { msgs: a.inMsgs, bytes: a.inBytes },
      slowConsumers: a.slowConsumers,
    };
  }
  index(name: string): SubjectIndex<Subscription> | undefined {
    return this.server.accounts.get(name)?.index;
  }
  jetstream(name: string): boolean {
    return this.server.accounts.get(name) !== undefined && (this.server.jetstream?.accountEnabled(name) ?? false);
  }
  updated(name: string): number {
    return this.server.accounts.get(name)?.updated.getTime() ?? this.server.startTime;
  }
}

const views = new WeakMap<Server, AccountsView>();

export function accountsView(server: Server): AccountsView {
  let v = views.get(server);
  if (!v) {
    v = new RegistryView(server);
    views.set(server, v);
  }
  return v;
}
