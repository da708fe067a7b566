// The revert stack of multi-step setups (after Incus's): each step registers its undo as it
// succeeds; a failure unwinds them in reverse order, success releases them.
export class Revert {
  private undos: (() => Promise<void> | void)[] = [];
  /** Errors of undos that failed during unwind(): unwinding is best effort and never throws, so the error that caused it stays the one reported. */
  readonly failures: unknown[] = [];

  add(undo: () => Promise<void> | void): void {
    this.undos.push(undo);
  }

  /** Run every undo, newest first; one that fails does not stop the others. */
  async unwind(): Promise<void> {
    while (this.undos.length) {
      const undo = this.undos.pop()!;
      try {
        await undo();
      } catch (e) {
        this.failures.push(e);
      }
    }
  }

  /** Keep what was done: the setup succeeded. */
  release(): void {
    this.undos = [];
  }
}
