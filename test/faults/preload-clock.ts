// Preloaded (`node --import`) into a tsnats child process: a wall clock the test can move.
// `Date.now()` and `new Date()` return the real time plus an offset (ms) read from the file named
// by TSNATS_TEST_CLOCK_FILE, re-read every 20 ms. Timers and performance.now() are untouched, as
// when an operator or NTP steps the system clock.

import { readFileSync } from 'node:fs';

const file = process.env.TSNATS_TEST_CLOCK_FILE;
if (file) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  let offset = 0;
  const read = (): void => {
    try {
      const v = Number(readFileSync(file, 'utf8').trim());
      if (Number.isFinite(v)) offset = v;
    } catch {
      // keep the last offset
    }
  };
  read();
  setInterval(read, 20).unref();
  const now = (): number => realNow() + offset;
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now());
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return now();
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}
