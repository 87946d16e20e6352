// Terminal output for the demo: numbered steps, indented facts, "what to notice" hints.
// Colour only on a TTY, and never when NO_COLOR is set (https://no-color.org) or TERM=dumb.

export interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
}

export function useColour(out: Out, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return out.isTTY === true && env.TERM !== 'dumb';
}

type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan';
const CODES: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  green: [32, 39],
  red: [31, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};

export class Narrator {
  private step = 0;
  private readonly colour: boolean;

  constructor(
    private readonly out: Out,
    readonly totalSteps: number,
    colour?: boolean,
  ) {
    this.colour = colour ?? useColour(out);
  }

  style(s: string, ...styles: Style[]): string {
    if (!this.colour) return s;
    let r = s;
    for (const st of styles) r = `\x1b[${CODES[st][0]}m${r}\x1b[${CODES[st][1]}m`;
    return r;
  }

  line(s = ''): void {
    this.out.write(`${s}\n`);
  }

  title(s: string): void {
    this.line(this.style(s, 'bold'));
  }

  /** `[3/7] Connect a client ...` */
  begin(title: string): void {
    this.step++;
    this.line();
    this.line(this.style(`[${this.step}/${this.totalSteps}] ${title}`, 'bold', 'cyan'));
  }

  /** An indented fact: `    label  value` with labels aligned by the caller's padding. */
  fact(label: string, value: string, width = 16): void {
    this.line(`    ${label.padEnd(width)} ${value}`);
  }

  /** A line of verbatim text (log lines, commands, JSON), indented and dimmed. */
  verbatim(s: string): void {
    for (const l of s.split('\n')) this.line(`      ${this.style(l, 'dim')}`);
  }

  ok(s: string): void {
    this.line(`    ${this.style('✔', 'green')} ${s}`);
  }

  fail(s: string): void {
    this.line(`    ${this.style('✘', 'red')} ${s}`);
  }

  /** What the user should look at in this step. */
  notice(s: string): void {
    this.line(`    ${this.style('→ notice:', 'yellow')} ${s}`);
  }

  info(s: string): void {
    this.line(`    ${s}`);
  }
}

/** `1.2s`, `850ms`. */
export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** ISO time without milliseconds, plus how far from now: `2026-01-02T15:04:05Z (in 7.9s)`. */
export function when(t: number | string | Date | null | undefined, now = Date.now()): string {
  if (t === null || t === undefined || t === '') return '-';
  const ms = typeof t === 'number' ? t : new Date(t).getTime();
  if (!Number.isFinite(ms)) return String(t);
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const d = ms - now;
  const rel = Math.abs(d) < 500 ? 'now' : d > 0 ? `in ${seconds(d)}` : `${seconds(-d)} ago`;
  return `${iso} (${rel})`;
}
