// Summarizes a V8 .cpuprofile: self time per function (name, file:line), as a text table.
//   node bench/profile/summarize.mjs file.cpuprofile [top] [function names for a per-line breakdown...]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export function summarize(prof, top = 30) {
  const self = new Map();
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const dt = prof.timeDeltas;
  const counts = new Map();
  for (let i = 0; i < prof.samples.length; i++) counts.set(prof.samples[i], (counts.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
  let total = 0;
  for (const [id, us] of counts) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? basename(cf.url) + ':' + (cf.lineNumber + 1) : ''}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = [`total sampled ${(total / 1e6).toFixed(2)} s`];
  for (const [k, us] of rows) lines.push(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1e3).toFixed(0).padStart(6)} ms  ${k}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top, ...fns] = process.argv.slice(2);
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  console.log(summarize(prof, Number(top ?? 30)));
  for (const fn of fns) console.log(`${fn} (dist line numbers):\n${lines(prof, fn)}`);
}

/** Self time per source line of the functions whose name matches `fn` (needs positionTicks). */
export function lines(prof, fn) {
  const per = new Map();
  for (const n of prof.nodes) {
    if (n.callFrame.functionName !== fn || !n.positionTicks) continue;
    for (const t of n.positionTicks) per.set(t.line, (per.get(t.line) ?? 0) + t.ticks);
  }
  return [...per].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([l, t]) => `  line ${l}: ${t} ticks`).join('\n');
}
