// Subject helpers for the engine (it imports nothing from src/server/).

/** A valid subject (wildcards allowed, `>` last, no empty tokens, no whitespace). */
export function validSubject(s: string, allowWildcards = true): boolean {
  if (s === '' || /[\s]/.test(s)) return false;
  const toks = s.split('.');
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t === '') return false;
    if (t === '>' ) {
      if (!allowWildcards || i !== toks.length - 1) return false;
    } else if (t === '*') {
      if (!allowWildcards) return false;
    }
  }
  return true;
}

export function isLiteral(s: string): boolean {
  for (const t of s.split('.')) if (t === '*' || t === '>') return false;
  return true;
}

/** Does literal `subject` match `filter` (wildcards)? '' and '>' match everything. */
export function subjectMatches(subject: string, filter: string): boolean {
  if (filter === '' || filter === '>') return true;
  if (filter === subject) return true;
  const s = subject.split('.');
  const f = filter.split('.');
  for (let i = 0; i < f.length; i++) {
    const t = f[i]!;
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return s.length === f.length;
}

/** Can some literal subject match both (wildcards on both sides)? */
export function subjectsCollide(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p === '>' || q === '>') return true;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
  return x.length === y.length;
}

/** Is every subject matching `sub` also matched by `sup`? */
export function subjectIsSubset(sub: string, sup: string): boolean {
  const x = sub.split('.');
  const y = sup.split('.');
  for (let i = 0; i < y.length; i++) {
    const q = y[i]!;
    if (q === '>') return x.length > i;
    if (i >= x.length) return false;
    const p = x[i]!;
    if (p === '>') return false;
    if (q === '*') continue;
    if (p === '*' || p !== q) return false;
  }
  return x.length === y.length;
}

/**
 * Maps `subject` (matching `src`) to `dest`: each `*` and `>` of dest takes the tokens the
 * corresponding wildcard of src matched, in order; `{{wildcard(n)}}` is supported too.
 */
export function transformSubject(src: string, dest: string, subject: string): string {
  const st = src.split('.');
  const s = subject.split('.');
  const captured: string[] = [];
  for (let i = 0; i < st.length; i++) {
    if (st[i] === '*') captured.push(s[i]!);
    else if (st[i] === '>') captured.push(s.slice(i).join('.'));
  }
  let k = 0;
  return dest
    .split('.')
    .map((t) => {
      const m = /^\{\{\s*wildcard\s*\(\s*(\d+)\s*\)\s*\}\}$/i.exec(t);
      if (m) return captured[Number(m[1]) - 1] ?? '';
      if (t === '*' || t === '>') return captured[k++] ?? '';
      return t;
    })
    .join('.');
}
