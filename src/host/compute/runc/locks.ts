// Per-key turns and step timings of the runc driver.

/** One operation at a time per key (an instance's id): the next waits for the one before, failed or not. */
export class Locks {
  private tails = new Map<string, Promise<unknown>>();
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/** CUMULO_LOG_TIMINGS=1: one line per create and boot, with the time of each step (launch benchmarks). */
export class Steps {
  private t = performance.now();
  private parts: string[] = [];
  constructor(private readonly on = Boolean(process.env.CUMULO_LOG_TIMINGS)) {}
  mark(name: string): void {
    if (!this.on) return;
    const now = performance.now();
    this.parts.push(`${name} ${(now - this.t).toFixed(0)}`);
    this.t = now;
  }
  report(log: (l: string) => void, what: string): void {
    if (this.on && this.parts.length) log(`runc: ${what}: ${this.parts.join(', ')} ms`);
  }
}
