// The tsnats command: flags and config file -> server; signals; exit statuses (docs/server.md).

import { applyOverrides, isConfigError, loadConfigFile, parseFlags, tlsUsage, usage, type ParsedFlags } from './config/index.js';
import type { ServerOptions } from './config/types.js';
import { defaultOptions } from './config/index.js';
import { defaultServerHooks } from './server/hooks.js';
import { TSNATS_VERSION } from './server/info.js';
import { Logger } from './server/logger.js';
import { exeNameFromArgv } from './server/ports.js';
import { ExitCode, Server } from './server/server.js';
import { installSignalHandlers, sendSignal } from './server/signals.js';

const EXE = 'tsnats';

/**
 * Subcommands (`tsnats <name> ...`), tried before flag parsing. Each returns the exit status.
 * The OCSP tooling registers `ocsp` here (`tsnats ocsp check|show`, docs/cli-ocsp.md).
 */
export const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  // Loaded lazily so starting the server does not load the operator tooling.
  ocsp: async (args) => (await import('./cli/ocsp.js')).runOcspCommand(args),
};

function die(msg: string, extraNewline = false): never {
  process.stderr.write(`${EXE}: ${msg}\n${extraNewline ? '\n' : ''}`);
  process.exit(ExitCode.ERROR);
}

function configErrorText(e: unknown): { text: string; positioned: boolean } {
  if (isConfigError(e)) return { text: e.message, positioned: e.line > 0 };
  return { text: (e as Error).message ?? String(e), positioned: false };
}

interface Loaded {
  options: ServerOptions;
  warnings: string[];
  digest?: string;
}

function load(flags: ParsedFlags): Loaded {
  let options: ServerOptions;
  let warnings: string[] = [];
  let digest: string | undefined;
  if (flags.configFile) {
    const l = loadConfigFile(flags.configFile);
    options = l.options;
    warnings = l.warnings;
    digest = l.digest;
  } else {
    options = defaultOptions();
  }
  options = applyOverrides(options, flags.overrides);
  return { options, warnings, digest };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const cmd = argv[0] !== undefined ? COMMANDS[argv[0]] : undefined;
  if (cmd) {
    // exitCode (not exit()) so piped output is flushed first.
    process.exitCode = await cmd(argv.slice(1));
    return;
  }
  const flags = parseFlags(argv);
  if (flags.test && !flags.configFile) die('must specify [-c, --config] option to check configuration file syntax');
  if (flags.errors.length > 0) {
    process.stderr.write(`${flags.errors[0]}\n`);
    process.stdout.write(usage(EXE));
    process.exit(ExitCode.OK);
  }
  if (flags.help) {
    process.stdout.write(usage(EXE));
    process.exit(ExitCode.OK);
  }
  if (flags.helpTls) {
    process.stdout.write(tlsUsage());
    process.exit(ExitCode.OK);
  }
  if (flags.version) {
    process.stdout.write(`${EXE}: v${TSNATS_VERSION}\n`);
    process.exit(ExitCode.OK);
  }
  if (flags.signal) {
    const err = sendSignal(flags.signal, EXE);
    if (err) die(err);
    process.exit(ExitCode.OK);
  }
  for (const w of flags.warnings) process.stderr.write(`${EXE}: ${w}\n`);

  if (flags.test) {
    if (!flags.configFile) die('must specify [-c, --config] option to check configuration file syntax');
    try {
      load(flags);
    } catch (e) {
      const { text, positioned } = configErrorText(e);
      die(text, positioned);
    }
    process.stderr.write(`${EXE}: configuration file ${flags.configFile} is valid\n`);
    process.exit(ExitCode.OK);
  }

  let loaded: Loaded;
  try {
    loaded = load(flags);
  } catch (e) {
    const { text, positioned } = configErrorText(e);
    die(text, positioned);
  }
  const o = loaded.options;
  let logger: Logger;
  try {
    logger = new Logger({ debug: o.debug, trace: o.trace, logtime: o.logtime, logtimeUtc: o.logtimeUtc, logFile: o.logFile });
  } catch (e) {
    die((e as Error).message);
  }
  const server = new Server(o, {
    logger,
    hooks: defaultServerHooks(o),
    configWarnings: loaded.warnings,
    configDigest: loaded.digest,
    exeName: exeNameFromArgv(),
  });

  let reloading = false;
  installSignalHandlers(server, {
    reload: async () => {
      if (reloading) return;
      reloading = true;
      try {
        if (!flags.configFile) throw new Error('can only reload config when a file is provided using -c or --config');
        const next = load(flags);
        await server.reload(next.options);
        if (next.digest) server.configDigest = next.digest;
      } catch (e) {
        logger.error(`Failed to reload server configuration: ${configErrorText(e).text}`);
      } finally {
        reloading = false;
      }
    },
  });

  void server.exited.then((code) => {
    logger.close();
    process.exit(code);
  });

  try {
    await server.start();
  } catch (e) {
    logger.fatal((e as Error).message);
    await server.shutdown(ExitCode.ERROR).catch(() => undefined);
  }
}
