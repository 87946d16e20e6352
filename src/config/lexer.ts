// Lexer for the NATS configuration format.
//
// A small state machine over characters. The format is context sensitive (what
// follows a key is a value, what follows a value is a terminator, and both depend on
// whether we are at the top level, inside a map or inside an array), so the lexer
// keeps a stack of frames, one per open container, each in one of four states:
//
//   key   expecting a key (or the end of the container, or EOF at the top level)
//   sep   after a key: optional whitespace/newlines, then an optional '=' or ':'
//   value expecting a value (arrays start here)
//   end   after a value: expecting a terminator (newline, ',', ';', '}' or ']')
//
// Tokens carry the raw text of numbers (the parser applies size suffixes) and the
// decoded text of strings. Every token has a 1-based line/column position.

import { ConfigError, type Position } from './errors.js';

export type TokenType =
  | 'key'
  | 'string'
  | 'bool'
  | 'integer'
  | 'float'
  | 'datetime'
  | 'variable'
  | 'include'
  | 'arrayStart'
  | 'arrayEnd'
  | 'mapStart'
  | 'mapEnd'
  | 'eof';

export interface Token {
  type: TokenType;
  /**
   * key: the key; string: the decoded text; integer/float/datetime/bool: the raw
   * text; variable: the name without '$'; include: the path; others: ''.
   */
  value: string;
  pos: Position;
}

type FrameKind = 'top' | 'map' | 'array';
type FrameState = 'key' | 'sep' | 'value' | 'end';

interface Frame {
  kind: FrameKind;
  state: FrameState;
  open?: Position;
}

/** Containers nested deeper than this are rejected (keeps everything iterative-safe). */
export const MAX_NESTING_DEPTH = 256;

const BOOLS = new Set(['true', 'false', 'yes', 'no', 'on', 'off']);
const INT_RE = /^-?\d+$/;
const SIZE_RE = /^-?\d+[kmgtpe](?:i?b?)$/i;
const FLOAT_RE = /^-?\d+\.\d+$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const IP_RE = /^\d+\.\d+\.[\d.:-]*$/;

function isSpaceTab(c: string): boolean {
  return c === ' ' || c === '\t';
}
function isNL(c: string): boolean {
  return c === '\n' || c === '\r';
}
function isAnySpace(c: string): boolean {
  return c !== '' && /\s/u.test(c);
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
/** Characters that end an unquoted value. */
function endsBareValue(c: string): boolean {
  return c === '' || isNL(c) || isSpaceTab(c) || c === ';' || c === ',' || c === ']' || c === '}';
}
function show(c: string): string {
  if (c === '') return 'EOF';
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return c;
}

export class Lexer {
  readonly file: string;
  private readonly src: string;
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private readonly stack: Frame[] = [{ kind: 'top', state: 'key' }];
  /** Whole-file `{ ... }` wrapping (JSON style). */
  private wrapped: 'no' | 'open' | 'closed' = 'no';
  private sawContent = false;

  constructor(text: string, file: string) {
    this.src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    this.file = file;
  }

  /** The next token; after the end of input, 'eof' forever. Throws ConfigError. */
  next(): Token {
    for (;;) {
      const f = this.stack[this.stack.length - 1]!;
      let t: Token | null;
      switch (f.state) {
        case 'key':
          t = this.lexKey(f);
          break;
        case 'sep':
          t = this.lexSep(f);
          break;
        case 'value':
          t = f.kind === 'array' ? this.lexArrayValue(f) : this.lexValue(f);
          break;
        case 'end':
          t = this.lexEnd(f);
          break;
      }
      if (t) return t;
    }
  }

  // ---- character helpers -------------------------------------------------

  private peek(off = 0): string {
    return this.src.charAt(this.i + off);
  }

  private advance(): string {
    const c = this.src.charAt(this.i);
    if (c === '') return c;
    this.i++;
    if (c === '\n') {
      this.line++;
      this.lineStart = this.i;
    }
    return c;
  }

  private advanceTo(j: number): void {
    while (this.i < j) this.advance();
  }

  pos(): Position {
    return { file: this.file, line: this.line, column: this.i - this.lineStart + 1 };
  }

  private fail(reason: string, pos: Position = this.pos()): never {
    throw new ConfigError(reason, pos);
  }

  private tok(type: TokenType, value: string, pos: Position): Token {
    return { type, value, pos };
  }

  private skipSpaceTab(): void {
    while (isSpaceTab(this.peek())) this.advance();
  }

  private skipAllSpace(): void {
    while (isAnySpace(this.peek())) this.advance();
  }

  /** At '#' or '//': skip to the end of the line (the newline is left). */
  private atComment(): boolean {
    const c = this.peek();
    return c === '#' || (c === '/' && this.peek(1) === '/');
  }

  private skipComment(): void {
    while (this.peek() !== '' && !isNL(this.peek())) this.advance();
  }

  private push(frame: Frame): void {
    if (this.stack.length > MAX_NESTING_DEPTH) {
      this.fail(`Maximum nesting depth of ${MAX_NESTING_DEPTH} maps/arrays exceeded`);
    }
    this.stack.push(frame);
  }

  private unclosed(f: Frame): never {
    const what = f.kind === 'map' ? 'map' : 'array';
    const at = f.open ? ` opened at line ${f.open.line}, column ${f.open.column}` : '';
    this.fail(`Unexpected EOF: the ${what}${at} is not closed`);
  }

  // ---- states -----------------------------------------------------------

  private lexKey(f: Frame): Token | null {
    this.skipAllSpace();
    const c = this.peek();
    const p = this.pos();
    if (c === '') {
      if (f.kind !== 'top') this.unclosed(f);
      if (this.wrapped === 'open') this.fail(`Unexpected EOF: the file's opening '{' is not closed`);
      return this.tok('eof', '', p);
    }
    if (this.atComment()) {
      this.skipComment();
      return null;
    }
    if (f.kind === 'top') {
      if (c === '{' && !this.sawContent && this.wrapped === 'no') {
        this.wrapped = 'open';
        this.advance();
        return null;
      }
      if (c === '}' && this.wrapped === 'open') {
        this.wrapped = 'closed';
        this.advance();
        return null;
      }
      if (this.wrapped === 'closed') {
        this.fail(`Unexpected '${show(c)}' after the closing '}' of the file`);
      }
    } else if (c === '}') {
      this.advance();
      this.stack.pop();
      return this.tok('mapEnd', '', p);
    }
    if (c === '=' || c === ':') this.fail(`Unexpected key separator '${c}'.`);
    if (c === ']' && f.kind === 'map') this.fail(`Unexpected array end ']' processing map.`);
    if (c === '{' || c === '}' || c === '[' || c === ']' || c === ',' || c === ';') {
      this.fail(`Expected a key but got '${c}'`);
    }
    this.sawContent = true;
    if (c === '"' || c === "'") {
      this.advance();
      const start = this.i;
      while (this.peek() !== c) {
        if (this.peek() === '') this.fail('Unexpected EOF: unterminated quoted key', p);
        this.advance();
      }
      const key = this.src.slice(start, this.i);
      this.advance();
      f.state = 'sep';
      return this.tok('key', key, p);
    }
    const start = this.i;
    while (true) {
      const d = this.peek();
      if (d === '' || d === '=' || d === ':' || isAnySpace(d)) break;
      this.advance();
    }
    const key = this.src.slice(start, this.i);
    if (key.toLowerCase() === 'include' && isAnySpace(this.peek())) {
      return this.lexInclude(f);
    }
    f.state = 'sep';
    return this.tok('key', key, p);
  }

  private lexInclude(f: Frame): Token {
    this.skipSpaceTab();
    const c = this.peek();
    const p = this.pos();
    let path: string;
    if (c === '"' || c === "'") {
      this.advance();
      const start = this.i;
      while (this.peek() !== c) {
        if (this.peek() === '') this.fail('Unexpected EOF: unterminated include path', p);
        this.advance();
      }
      path = this.src.slice(start, this.i);
      this.advance();
    } else {
      if (c === '[') this.fail('Expected include value but found start of an array');
      if (c === '{') this.fail('Expected include value but found start of a map');
      if (c === '(') this.fail('Expected include value but found start of a block');
      if (isDigit(c) || c === '-') this.fail('Expected include value but found start of a number');
      if (c === '\\') this.fail('Expected include value but found escape sequence');
      if (isNL(c)) this.fail('Expected include value but found new line');
      if (c === '') this.fail('Expected include value but found EOF');
      const start = this.i;
      while (true) {
        const d = this.peek();
        if (d === '' || isNL(d) || isSpaceTab(d) || d === ';' || d === '}') break;
        this.advance();
      }
      path = this.src.slice(start, this.i);
    }
    if (path === '') this.fail('Expected include value but found an empty path', p);
    f.state = 'end';
    return this.tok('include', path, p);
  }

  private lexSep(f: Frame): Token | null {
    this.skipAllSpace();
    const c = this.peek();
    if (c === '') this.fail('Unexpected EOF: expected a value');
    if (c === '=' || c === ':') this.advance();
    f.state = 'value';
    return null;
  }

  private lexArrayValue(f: Frame): Token | null {
    this.skipAllSpace();
    const c = this.peek();
    if (c === '') this.unclosed(f);
    if (this.atComment()) {
      this.skipComment();
      return null;
    }
    if (c === ',') this.fail(`Unexpected array value terminator ','.`);
    if (c === ']') {
      const p = this.pos();
      this.advance();
      this.stack.pop();
      return this.tok('arrayEnd', '', p);
    }
    return this.lexValue(f);
  }

  private lexValue(f: Frame): Token {
    this.skipSpaceTab();
    const c = this.peek();
    const p = this.pos();
    if (c === '') this.fail('Unexpected EOF: expected a value');
    if (isNL(c)) this.fail('Expected value but found new line');
    f.state = 'end';
    switch (c) {
      case '[':
        this.advance();
        this.push({ kind: 'array', state: 'value', open: p });
        return this.tok('arrayStart', '', p);
      case '{':
        this.advance();
        this.push({ kind: 'map', state: 'key', open: p });
        return this.tok('mapStart', '', p);
      case "'": {
        this.advance();
        const start = this.i;
        while (this.peek() !== "'") {
          if (this.peek() === '') this.fail('Unexpected EOF: unterminated quoted string', p);
          this.advance();
        }
        const s = this.src.slice(start, this.i);
        this.advance();
        return this.tok('string', s, p);
      }
      case '"': {
        this.advance();
        const s = this.scanEscaped((d) => d === '"', () => this.fail('Unexpected EOF: unterminated quoted string', p));
        this.advance();
        return this.tok('string', s, p);
      }
      case '(':
        return this.lexBlock(p);
      case '.':
        this.fail('Floats must start with a digit');
      // eslint-disable-next-line no-fallthrough
      case '}':
      case ']':
      case ',':
      case ';':
        this.fail(`Expected a value but got '${c}'`);
    }
    return this.lexWord(p);
  }

  /** Block string: `(` ... a line holding only `)`. */
  private lexBlock(p: Position): Token {
    this.advance(); // '('
    const start = this.i;
    let from = start;
    for (;;) {
      const j = this.src.indexOf('\n)', from);
      if (j < 0) this.fail(`Unexpected EOF: unterminated block string (end it with ')' alone on a line)`, p);
      const after = this.src.charAt(j + 2);
      if (after === '' || isNL(after)) {
        let s = this.src.slice(start, j);
        if (s.endsWith('\r')) s = s.slice(0, -1);
        this.advanceTo(j + 2);
        return this.tok('string', s, p);
      }
      from = j + 1;
    }
  }

  /** An unquoted value: number, size, datetime, boolean, variable, IP:port or string. */
  private lexWord(p: Position): Token {
    const start = this.i;
    while (!endsBareValue(this.peek())) this.advance();
    const raw = this.src.slice(start, this.i);
    const c0 = raw.charAt(0);
    if (c0 === '-' || isDigit(c0)) {
      if (INT_RE.test(raw) || SIZE_RE.test(raw)) return this.tok('integer', raw, p);
      if (FLOAT_RE.test(raw)) return this.tok('float', raw, p);
      if (DATE_RE.test(raw)) return this.tok('datetime', raw, p);
      if (IP_RE.test(raw)) return this.tok('string', raw, p);
      if (c0 === '-') {
        const c1 = raw.charAt(1);
        if (c1 === '.') this.fail(`Floats must start with a digit, not '.'.`, p);
        if (!isDigit(c1)) this.fail(`Expected a digit but got '${show(c1)}'.`, p);
        this.fail(`Invalid number '${raw}' (quote it if it is a string)`, p);
      }
      const digits = /^\d+/.exec(raw)![0].length;
      const next = raw.charAt(digits);
      if (next === '-') {
        if (digits === 4) {
          this.fail(`Expected a full Zulu ISO8601 datetime (YYYY-MM-DDTHH:MM:SSZ), but got '${raw}'`, p);
        }
        this.fail('All ISO8601 dates must be in full Zulu form.', p);
      }
      if (next === '.') {
        const after = raw.charAt(digits + 1);
        if (!isDigit(after)) {
          this.fail(`Floats must have a digit after the '.', but got '${show(after || this.peek())}' instead.`, p);
        }
        this.fail(`Invalid number '${raw}' (quote it if it is a string)`, p);
      }
      // Digits followed by letters ("5s", "1h30m", "4222abc") are strings.
    } else if (!raw.includes('\\')) {
      if (BOOLS.has(raw.toLowerCase())) return this.tok('bool', raw, p);
      if (c0 === '$') return this.tok('variable', raw.slice(1), p);
    }
    if (!raw.includes('\\')) return this.tok('string', raw, p);
    // Unquoted strings process the same escapes as double-quoted ones.
    const end = this.i;
    this.i = start; // same line, no newline inside: line bookkeeping is unaffected
    const s = this.scanEscaped(
      () => this.i >= end,
      () => this.fail('Unexpected EOF', p),
    );
    return this.tok('string', s, p);
  }

  /**
   * Reads characters up to (not including) the first unescaped one for which
   * `stop` is true, decoding `\t \n \r \" \\ \xHH`.
   */
  private scanEscaped(stop: (c: string) => boolean, onEof: () => never): string {
    let out = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length) {
        out += Buffer.from(bytes).toString('utf8');
        bytes = [];
      }
    };
    for (;;) {
      const c = this.peek();
      if (stop(c)) break;
      if (c === '') onEof();
      if (c !== '\\') {
        flush();
        out += this.advance();
        continue;
      }
      const escPos = this.pos();
      this.advance();
      const e = this.peek();
      switch (e) {
        case 't':
          flush();
          out += '\t';
          break;
        case 'n':
          flush();
          out += '\n';
          break;
        case 'r':
          flush();
          out += '\r';
          break;
        case '"':
          flush();
          out += '"';
          break;
        case '\\':
          flush();
          out += '\\';
          break;
        case 'x': {
          const h = this.src.slice(this.i + 1, this.i + 3);
          if (h.length < 2 || /[\r\n]/.test(h)) {
            this.fail(`Expected two hexadecimal digits after '\\x', but hit end of line`, escPos);
          }
          if (!/^[0-9a-fA-F]{2}$/.test(h)) {
            this.fail(`Expected two hexadecimal digits after '\\x', but got '${h}'`, escPos);
          }
          bytes.push(parseInt(h, 16));
          this.advance();
          this.advance();
          break;
        }
        default:
          this.fail(
            `Invalid escape character '${show(e)}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\.`,
            escPos,
          );
      }
      this.advance();
    }
    flush();
    return out;
  }

  private lexEnd(f: Frame): Token | null {
    this.skipSpaceTab();
    const c = this.peek();
    if (this.atComment()) {
      this.skipComment();
      f.state = f.kind === 'array' ? 'value' : 'key';
      return null;
    }
    if (f.kind === 'top') {
      if (c === '' || isNL(c) || c === ';' || c === ',') {
        this.advance();
        f.state = 'key';
        return null;
      }
      if (c === '}' && this.wrapped === 'open') {
        this.advance();
        this.wrapped = 'closed';
        f.state = 'key';
        return null;
      }
      this.fail(`Expected a top-level value to end with a new line, comment or EOF, but got '${show(c)}' instead.`);
    }
    if (f.kind === 'map') {
      if (c === '') this.unclosed(f);
      if (isNL(c) || c === ';' || c === ',') {
        this.advance();
        f.state = 'key';
        return null;
      }
      if (c === '}') {
        const p = this.pos();
        this.advance();
        this.stack.pop();
        return this.tok('mapEnd', '', p);
      }
      this.fail(`Expected a map value terminator "," or a map terminator "}", but got '${show(c)}' instead.`);
    }
    // array
    if (c === '') this.unclosed(f);
    if (isNL(c) || c === ',') {
      this.advance();
      f.state = 'value';
      return null;
    }
    if (c === ']') {
      const p = this.pos();
      this.advance();
      this.stack.pop();
      return this.tok('arrayEnd', '', p);
    }
    this.fail(`Expected an array value terminator "," or an array terminator "]", but got '${show(c)}' instead.`);
  }
}

/** All tokens of a text up to and including 'eof' (handy for tests and tools). */
export function tokenize(text: string, file = '<text>'): Token[] {
  const lx = new Lexer(text, file);
  const out: Token[] = [];
  for (;;) {
    const t = lx.next();
    out.push(t);
    if (t.type === 'eof') return out;
  }
}
