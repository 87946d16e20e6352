// Subjects: validation and wildcard matching, pure functions over subject strings (the subject
// index in src/server/subjects.ts, permissions, configuration checks, account imports).
//
// Tokens are separated by `.`; `*` matches exactly one token and `>` one or more trailing tokens;
// both only as a whole token (`foo*` and `f>o` are literal), and `>` only as the last token.
// Matching is case-sensitive and works on the latin1-domain strings the parser produces.

const DOT = 46;
const STAR = 42;
const GT = 62;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

/**
 * A valid subject or filter: non-empty, no empty token, no whitespace (space, tab, CR, LF, FF), `>`
 * only as the last token. (nats-server 2.9.10 accepts a form feed inside a SUB subject; newer
 * servers and this function do not.)
 */
export function isValidSubject(subject: string): boolean {
  const n = subject.length;
  if (n === 0) return false;
  let start = 0;
  let afterFwc = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? subject.charCodeAt(i) : DOT;
    if (c === DOT) {
      if (i === start || afterFwc) return false;
      if (i - start === 1 && subject.charCodeAt(start) === GT) afterFwc = true;
      start = i + 1;
    } else if (isSpace(c)) {
      return false;
    }
  }
  return true;
}

/** A valid subject without wildcard tokens (what PUB needs in pedantic mode, reply subjects...). */
export function isValidLiteralSubject(subject: string): boolean {
  if (!isValidSubject(subject)) return false;
  const n = subject.length;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i === n || subject.charCodeAt(i) === DOT) {
      if (i - start === 1) {
        const c = subject.charCodeAt(start);
        if (c === STAR || c === GT) return false;
      }
      start = i + 1;
    }
  }
  return true;
}

/**
 * A usable queue group name: non-empty, no whitespace. (The wire cannot carry whitespace in it
 * anyway; nats-server 2.9.10 accepts any other bytes, including `.`, `*` and `>`.)
 */
export function isValidQueueName(queue: string): boolean {
  const n = queue.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) if (isSpace(queue.charCodeAt(i))) return false;
  return true;
}

/** True if the subject has no `*` or `>` token (it may still be invalid). */
export function isLiteral(subject: string): boolean {
  const n = subject.length;
  for (let i = 0; i < n; i++) {
    const c = subject.charCodeAt(i);
    if (
      (c === STAR || c === GT) &&
      (i === 0 || subject.charCodeAt(i - 1) === DOT) &&
      (i + 1 === n || subject.charCodeAt(i + 1) === DOT)
    ) {
      return false;
    }
  }
  return true;
}

function sameToken(a: string, as: number, b: string, bs: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a.charCodeAt(as + k) !== b.charCodeAt(bs + k)) return false;
  return true;
}

/**
 * Does the literal `subject` match `filter` (which may hold wildcards)? Wildcard characters in the
 * subject are ordinary characters here. A subject with an empty token matches nothing.
 */
export function matchLiteral(subject: string, filter: string): boolean {
  const sn = subject.length;
  const fn = filter.length;
  if (sn === 0 || fn === 0) return false;
  let si = 0;
  let fi = 0;
  for (;;) {
    const sDone = si > sn;
    const fDone = fi > fn;
    if (sDone || fDone) return sDone && fDone;
    let se = subject.indexOf('.', si);
    if (se < 0) se = sn;
    let fe = filter.indexOf('.', fi);
    if (fe < 0) fe = fn;
    const sl = se - si;
    const fl = fe - fi;
    if (sl === 0 || fl === 0) return false;
    if (fl === 1) {
      const c = filter.charCodeAt(fi);
      if (c === GT) return noEmptyToken(subject, si);
      if (c !== STAR && (sl !== 1 || subject.charCodeAt(si) !== c)) return false;
    } else if (sl !== fl || !sameToken(subject, si, filter, fi, sl)) {
      return false;
    }
    si = se + 1;
    fi = fe + 1;
  }
}

function noEmptyToken(s: string, from: number): boolean {
  const n = s.length;
  if (from >= n || s.charCodeAt(n - 1) === DOT) return false;
  let prevDot = true;
  for (let i = from; i < n; i++) {
    const dot = s.charCodeAt(i) === DOT;
    if (dot && prevDot) return false;
    prevDot = dot;
  }
  return true;
}

/**
 * For permissions: is every subject that `subject` (literal or with wildcards) can stand for also
 * covered by `filter`? E.g. `foo.*` is a subset of `foo.>` and of `*.*`, `foo.>` is not a subset of
 * `foo.*`, `*` is not a subset of `foo`.
 */
export function subjectIsSubsetOf(subject: string, filter: string): boolean {
  const sn = subject.length;
  const fn = filter.length;
  if (sn === 0 || fn === 0) return false;
  let si = 0;
  let fi = 0;
  for (;;) {
    const sDone = si > sn;
    const fDone = fi > fn;
    if (sDone || fDone) return sDone && fDone;
    let se = subject.indexOf('.', si);
    if (se < 0) se = sn;
    let fe = filter.indexOf('.', fi);
    if (fe < 0) fe = fn;
    const sl = se - si;
    const fl = fe - fi;
    if (sl === 0 || fl === 0) return false;
    const fc = fl === 1 ? filter.charCodeAt(fi) : 0;
    const sc = sl === 1 ? subject.charCodeAt(si) : 0;
    if (fc === GT) return noEmptyToken(subject, si);
    if (sc === GT) return false; // `>` covers more than any non-`>` filter token
    if (fc === STAR) {
      // any single token, including `*`
    } else if (sc === STAR) {
      return false;
    } else if (sl !== fl || !sameToken(subject, si, filter, fi, sl)) {
      return false;
    }
    si = se + 1;
    fi = fe + 1;
  }
}

/** Is there a literal subject that both `a` and `b` (either may hold wildcards) match? */
export function subjectsIntersect(a: string, b: string): boolean {
  const ta = a.split('.');
  const tb = b.split('.');
  for (let i = 0; ; i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === undefined || y === undefined) return x === y; // both must end together
    if (x === '>' || y === '>') return true; // '>' takes the other's remaining (≥ 1) tokens
    if (x !== '*' && y !== '*' && x !== y) return false;
  }
}
