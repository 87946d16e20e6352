// Preload (`node --import <this> bin/tsnats ...`) for the start-up module-set test: records every
// module the process loads (ESM through loader hooks, CommonJS through require.cache) and exits
// when the server logs `Server is ready`. Loaded modules are compared, not timings (those are in
// the bench: `npm run bench -- --only startup`).
import fs, { appendFileSync } from 'node:fs';
import { createRequire, register, syncBuiltinESMExports } from 'node:module';

register(new URL('./module-hooks.js', import.meta.url));
const out = process.env.TSNATS_MODULE_LOG;
const require = createRequire(import.meta.url);

/**
 * Appends what the hooks cannot see: CommonJS modules (require.cache), the modules of the
 * single-file build that were instantiated (bin/tsnats with a fresh dist/tsnats-cli.cjs), and
 * Node's builtins (process.moduleLoadList, public names only).
 */
export function flushCjs(): void {
  if (!out) return;
  const lines: string[] = [];
  for (const k of Object.keys(require.cache)) lines.push('cjs:' + k);
  const bundled = (globalThis as Record<symbol, unknown>)[Symbol.for('tsnats.bundle.modules')] as string[] | undefined;
  for (const id of bundled ?? []) lines.push('bundle:' + id);
  const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  for (const e of list) {
    const m = /^NativeModule ([a-z0-9_/]+)$/.exec(e);
    if (m && !m[1]!.startsWith('internal/') && !m[1]!.startsWith('_')) lines.push('builtin:node:' + m[1]);
  }
  appendFileSync(out, lines.join('\n') + '\n');
}

// A server that refuses to start exits on its own: record what it loaded by then.
process.on('exit', () => flushCjs());

// The logger writes with fs.writeSync(2, ...): watch it (and process.stderr) for `Server is ready`.
function seen(chunk: unknown): void {
  if (String(chunk).includes('Server is ready')) {
    flushCjs();
    process.exit(0);
  }
}
const writeSync = fs.writeSync;
fs.writeSync = ((fd: number, data: unknown, ...rest: unknown[]) => {
  const r = (writeSync as (fd: number, d: unknown, ...a: unknown[]) => number)(fd, data, ...rest);
  if (fd === 2) seen(typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString() : '');
  return r;
}) as typeof fs.writeSync;
syncBuiltinESMExports();
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const r = (write as (c: string | Uint8Array, ...a: unknown[]) => boolean)(chunk, ...rest);
  seen(chunk);
  return r;
}) as typeof process.stderr.write;
