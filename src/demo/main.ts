// `npm run demo` (node dist/src/demo/main.js [--keep] [--pause]): OCSP stapling end to end, see run.ts.
// Exit 0 when every step behaved as described; 1 when a check failed (with the reason and the
// server's last log lines); 2 for a bad option; 128+n when interrupted. Whatever happens, the
// server is stopped, the responder closed and the temp dir removed (unless --keep).

import { Cleanup } from './cleanup.js';
import { DemoFailure, logTail, runDemo, STEPS, type DemoContext } from './run.js';
import { Narrator } from './term.js';

const USAGE = `Usage: npm run demo [-- [--keep] [--pause]]
       node dist/src/demo/main.js [--keep] [--pause]

Shows tsnats' OCSP stapling end to end in under 30 seconds: a throwaway PKI and OCSP responder,
tsnats in mode must with a Must-Staple certificate, a client verifying the staple, /ocspz, one
message over TLS, then a revocation that makes the server exit with status 20.

Options:
  --keep      keep the temp folder (PKI, config, staple cache) and print its path
  --pause     wait for Enter before revoking, to look at the running server (curl /ocspz ...)
  -h, --help  show this help

Colour is used on a terminal only; NO_COLOR=1 turns it off.
TSNATS_DEMO_FAULT=responder-down shows the failure path: tsnats refuses to start without a staple.
`;

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

async function main(argv: string[]): Promise<number> {
  let keep = false;
  let pause = false;
  for (const a of argv) {
    if (a === '--keep') keep = true;
    else if (a === '--pause') pause = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      return 0;
    } else {
      process.stderr.write(`demo: unknown option ${JSON.stringify(a)}\n\n${USAGE}`);
      return 2;
    }
  }

  const n = new Narrator(process.stdout, STEPS);
  const cleanup = new Cleanup();
  const ctx: DemoContext = { n, cleanup, keep, pause, fault: process.env.TSNATS_DEMO_FAULT || undefined };

  // Ctrl-C (or a kill): stop everything we started, remove the temp dir, exit 128+n.
  for (const sig of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) {
    process.on(sig, () => {
      if (ctx.interrupted) return;
      ctx.interrupted = true;
      n.line();
      n.line(`Interrupted (${sig}): stopping the server and the responder, removing the temp dir...`);
      void cleanup.run().then((errors) => {
        for (const e of errors) process.stderr.write(`demo: cleanup: ${e}\n`);
        process.exit(SIGNAL_EXIT[sig]!);
      });
    });
  }

  let code = 0;
  try {
    await runDemo(ctx);
  } catch (err) {
    if (ctx.interrupted) return new Promise<number>(() => undefined); // the signal handler exits
    code = 1;
    const e = err as Error;
    n.line();
    // A check or an operation that failed: its message says it. A bug in the demo: the stack.
    const bug = e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError || !(e instanceof Error);
    const text = e instanceof DemoFailure || !bug ? e.message : (e?.stack ?? String(e));
    n.fail(n.style(`Demo FAILED: ${text}`, 'bold', 'red'));
    const tail = logTail(ctx.server, ctx.tmp);
    if (tail.length > 0) {
      n.info('last server log lines:');
      n.verbatim(tail.join('\n'));
    }
  }
  if (ctx.interrupted) return new Promise<number>(() => undefined);
  const errors = await cleanup.run();
  for (const e of errors) {
    process.stderr.write(`demo: cleanup: ${e}\n`);
    code ||= 1;
  }
  if (!keep && ctx.tmp) n.info(n.style(`Cleaned up: server stopped, responder closed, ${ctx.tmp} removed.`, 'dim'));
  return code;
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Nothing should be left, but never hang on a stray handle: leave shortly after.
setTimeout(() => process.exit(code), 2000).unref();
