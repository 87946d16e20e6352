// What nats-server 2.9.10's automatic system imports give every account (events.go
// registerSystemImports): a user of any account may ask
//   $SYS.REQ.ACCOUNT.PING.CONNZ, $SYS.REQ.SERVER.PING.CONNZ  → its own account's CONNZ
//   $SYS.REQ.ACCOUNT.PING.STATZ                              → its own account's STATZ
// nats-server does it with service imports of the system account's `$SYS.REQ.ACCOUNT.*.CONNZ|STATZ`
// exports (the importing account's name put in the subject). tsnats answers the same requests
// with internal subscriptions in each account's own subject index (the answer is published there,
// to the request's reply subject): the same subjects, answers and /accountz `imports`, without
// the general import machinery.

import type { Server } from '../server.js';
import { IndexBus, type SystemBus } from './bus.js';
import { accountBuilders, zReq } from './requests.js';
import { Subjects } from './messages.js';
export { systemExports, systemImportsOf } from './messages.js';
import type { SystemEvents } from './system.js';

export class SystemImports {
  private readonly buses = new Map<string, SystemBus>();

  constructor(
    private readonly server: Server,
    private readonly ev: SystemEvents,
  ) {}

  /** Adds the subscriptions to accounts that lack them, drops those of accounts that are gone. */
  sync(): void {
    const s = this.server;
    const sys = this.ev.systemAccount;
    const want = new Set<string>();
    for (const a of s.accounts.all()) if (a.name !== sys) want.add(a.name);
    for (const [name, bus] of this.buses) {
      if (!want.has(name) || s.accounts.get(name)?.index !== (bus as unknown as { boundIndex: unknown }).boundIndex) {
        bus.close();
        this.buses.delete(name);
      }
    }
    const b = accountBuilders(s, this.ev);
    for (const name of want) {
      if (this.buses.has(name)) continue;
      const index = s.accounts.get(name)!.index;
      const bus = new IndexBus(
        () => index,
        () => s.flushPending(),
        (m) => s.logger.error(m),
      );
      (bus as unknown as { boundIndex: unknown }).boundIndex = index;
      const connz = zReq(s, this.ev, 'CONNZ', b.CONNZ!, () => name, bus);
      bus.subscribe(Subjects.accountPing('CONNZ'), connz);
      bus.subscribe(Subjects.serverPing('CONNZ'), connz);
      bus.subscribe(Subjects.accountPing('STATZ'), zReq(s, this.ev, 'STATZ', b.STATZ!, () => name, bus));
      this.buses.set(name, bus);
    }
  }

  close(): void {
    for (const bus of this.buses.values()) bus.close();
    this.buses.clear();
  }
}
