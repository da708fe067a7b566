// The revert stack of multi-step setups (after Incus's): each step registers its undo as it
// succeeds; a failure unwinds them in reverse order, success releases them.
//
// An undo that fails is logged and kept in `failures`, never dropped silently: what it left on the
// host is the caller's to hand on (the instance controllers queue a durable host.cleanup job when
// the instance's own removal fails after a failed launch or start).
export class Revert {
  private undos: (() => Promise<void> | void)[] = [];
  /** Errors of undos that failed during unwind(): unwinding is best effort and never throws, so the error that caused it stays the one reported. */
  readonly failures: unknown[] = [];

  constructor(private readonly log: (line: string) => void = (l) => console.error(l)) {}

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
        this.log(`revert: an undo failed (left for cleanup): ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** Keep what was done: the setup succeeded. */
  release(): void {
    this.undos = [];
  }
}
