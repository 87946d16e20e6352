// Signal handling for the server process (nats-server's signal.go), and `--signal` (sending one to a
// running server).

import { readdirSync, readFileSync } from 'node:fs';
import type { SignalRequest } from '../config/flags.js';
import type { Server } from './server.js';

/** Go's names for the signals it traps (`Trapped "<name>" signal`). */
const GO_NAMES: Partial<Record<NodeJS.Signals, string>> = {
  SIGINT: 'interrupt',
  SIGTERM: 'terminated',
  SIGHUP: 'hangup',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
};

/** `--signal` names to signals. */
export const SIGNAL_FOR: Record<SignalRequest['signal'], NodeJS.Signals> = {
  ldm: 'SIGUSR2',
  stop: 'SIGKILL',
  quit: 'SIGINT',
  term: 'SIGTERM',
  reopen: 'SIGUSR1',
  reload: 'SIGHUP',
};

export interface SignalActions {
  /** SIGHUP: re-read the configuration. */
  reload(): Promise<void>;
}

/**
 * Installs the handlers: SIGINT quit, SIGTERM quit (ignored in lame duck mode), SIGHUP reload,
 * SIGUSR2 lame duck mode, SIGUSR1 reopen the log file. Returns a function removing them.
 */
export function installSignalHandlers(server: Server, actions: SignalActions): () => void {
  const handlers: Array<[NodeJS.Signals, () => void]> = [];
  const on = (sig: NodeJS.Signals, fn: () => void): void => {
    const h = (): void => {
      server.logger.debug(`Trapped "${GO_NAMES[sig] ?? sig}" signal`);
      fn();
    };
    process.on(sig, h);
    handlers.push([sig, h]);
  };
  on('SIGINT', () => void server.shutdown(0));
  on('SIGTERM', () => {
    if (server.inLameDuckMode) return;
    void server.shutdown(0);
  });
  on('SIGHUP', () => void actions.reload());
  on('SIGUSR2', () => void server.lameDuckMode());
  // SIGUSR1 normally starts Node's inspector; nats-server uses it to reopen the log file. Honour it
  // unless the process was started with an --inspect flag.
  if (!process.execArgv.some((a) => a.startsWith('--inspect'))) {
    on('SIGUSR1', () => server.logger.reopen());
  }
  return () => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  };
}

/** Process ids of running tsnats servers (other than this process), from /proc. */
function findServers(name: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (cmd.slice(0, 2).some((a) => a === name || a.endsWith(`/${name}`))) out.push(pid);
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Sends `--signal` to a server: to `pid`, to the pid in `pidFile`, or to the only running tsnats
 * process. Returns the message to print on failure (nats-server's wording), or undefined.
 */
export function sendSignal(req: SignalRequest, exeName = 'tsnats'): string | undefined {
  const sig = SIGNAL_FOR[req.signal];
  let pids: number[];
  if (req.pid !== undefined) pids = [req.pid];
  else if (req.pidFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(req.pidFile, 'utf8').trim();
    } catch (e) {
      return `could not read pidfile ${req.pidFile}: ${(e as Error).message}`;
    }
    if (!/^\d+$/.test(text)) return `could not parse pidfile ${req.pidFile}`;
    pids = [Number(text)];
  } else {
    pids = findServers(exeName);
    if (pids.length === 0) return `no ${exeName} processes running`;
    if (pids.length > 1) return `multiple ${exeName} processes running:\n${pids.join('\n')}`;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch (e) {
      return `${(e as Error).message}`;
    }
  }
  return undefined;
}
