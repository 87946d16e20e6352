// ESM loader hooks (registered by module-probe.ts): every module URL loaded is appended to the
// file named by TSNATS_MODULE_LOG.
import { appendFileSync } from 'node:fs';

const out = process.env.TSNATS_MODULE_LOG;

export async function load(url: string, context: unknown, next: (url: string, context: unknown) => Promise<unknown>): Promise<unknown> {
  const r = await next(url, context);
  if (out) appendFileSync(out, url + '\n');
  return r;
}
