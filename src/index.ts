// tsnats: a NATS-compatible message server. Embedding API (see docs/embedding.md).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultOptions, loadConfigFile } from './config/index.js';
import type { ServerOptions } from './config/types.js';
import { defaultServerHooks } from './server/hooks.js';
import { Logger, type LoggerOptions } from './server/logger.js';
import { Server, type ServerHook } from './server/server.js';

export { Server, ExitCode, type ServerHook, type HookContext, type ServerInit, type ReloadPlan } from './server/server.js';
export { ocspStaplingHook, type OcspStaplingHookOptions } from './server/ocsp-hook.js';
export { TlsManager, TlsConfig } from './server/tls.js';
export { Logger, type LogSink, type LoggerOptions } from './server/logger.js';
export { NATS_VERSION, TSNATS_VERSION } from './server/info.js';
export { defaultServerHooks } from './server/hooks.js';
export { observabilityHook, getServerObservability } from './server/observability.js';
export type { EndpointHandler, EndpointResult } from './server/monitor/http.js';
export type * from './config/types.js';

export interface StartOptions {
  /** Load this configuration file (`options` below are applied on top of it). */
  configFile?: string;
  /** Options (on top of the file, or of the defaults). Port 0 or -1 picks a free port. */
  options?: Partial<ServerOptions>;
  /**
   * Logging: false (default) discards the log, true logs to stderr in nats-server's format, or
   * Logger options (e.g. `{ write: (line) => ... }`).
   */
  log?: boolean | LoggerOptions;
  /** Hooks in addition to the default ones (e.g. OCSP stapling). */
  hooks?: ServerHook[];
  /** Skip defaultServerHooks(). */
  noDefaultHooks?: boolean;
}

export interface RunningServer {
  /** `nats://host:port` (`tls://` when TLS is required) for clients. */
  url: string;
  port: number;
  server: Server;
  /** Graceful shutdown; resolves when done. */
  close(): Promise<void>;
}

function isStartOptions(x: unknown): x is StartOptions {
  if (typeof x !== 'object' || x === null) return false;
  return 'configFile' in x || 'options' in x || 'log' in x || 'hooks' in x || 'noDefaultHooks' in x;
}

/**
 * Starts a server in this process. Accepts either plain options (`startServer({ port: -1 })`) or
 * `{ configFile, options, log, hooks }`. Without a port the server picks a free one, and binds
 * 127.0.0.1 unless `host` is given.
 */
export async function startServer(arg: Partial<ServerOptions> | StartOptions = {}): Promise<RunningServer> {
  const so: StartOptions = isStartOptions(arg) ? arg : { options: arg as Partial<ServerOptions> };
  let base: ServerOptions;
  let warnings: string[] = [];
  let digest: string | undefined;
  if (so.configFile) {
    const loaded = loadConfigFile(so.configFile);
    base = loaded.options;
    warnings = loaded.warnings;
    digest = loaded.digest;
  } else {
    base = { ...defaultOptions(), host: '127.0.0.1', port: 0 };
  }
  const options: ServerOptions = { ...base, ...(so.options ?? {}) } as ServerOptions;
  // JetStream without a store directory: a temporary one, removed on close.
  let tempStoreDir: string | undefined;
  if (options.jetstream && !options.storeDir) {
    tempStoreDir = mkdtempSync(join(tmpdir(), 'tsnats-js-'));
    options.storeDir = tempStoreDir;
  }
  const logOpts: LoggerOptions =
    so.log === true
      ? {}
      : so.log === false || so.log === undefined
        ? { silent: true }
        : so.log;
  const logger = new Logger({
    debug: options.debug,
    trace: options.trace,
    logtime: options.logtime,
    logtimeUtc: options.logtimeUtc,
    logFile: options.logFile,
    ...logOpts,
  });
  const hooks = [...(so.noDefaultHooks ? [] : defaultServerHooks(options)), ...(so.hooks ?? [])];
  const server = new Server(options, { logger, hooks, configWarnings: warnings, configDigest: digest });
  try {
    await server.start();
  } catch (e) {
    await server.shutdown(1).catch(() => undefined);
    if (tempStoreDir) rmSync(tempStoreDir, { recursive: true, force: true });
    throw e;
  }
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const scheme = server.tls && !options.allowNonTls ? 'tls' : 'nats';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${server.port}`;
  return {
    url,
    port: server.port,
    server,
    close: async () => {
      await server.shutdown(0);
      if (tempStoreDir) rmSync(tempStoreDir, { recursive: true, force: true });
    },
  };
}
