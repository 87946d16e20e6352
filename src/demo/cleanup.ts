// Everything the demo starts or creates registers its undo here; `run()` undoes it in reverse
// order exactly once, whether the demo succeeded, failed, or was interrupted (Ctrl-C).

export class Cleanup {
  private readonly tasks: { what: string; fn: () => unknown }[] = [];
  private running: Promise<string[]> | undefined;

  add(what: string, fn: () => unknown): void {
    this.tasks.push({ what, fn });
  }

  /** Runs every task, last added first; returns the failures (never throws). Idempotent. */
  run(): Promise<string[]> {
    this.running ??= (async () => {
      const errors: string[] = [];
      while (this.tasks.length > 0) {
        const t = this.tasks.pop()!;
        try {
          await t.fn();
        } catch (err) {
          errors.push(`${t.what}: ${(err as Error)?.message ?? err}`);
        }
      }
      return errors;
    })();
    return this.running;
  }
}
