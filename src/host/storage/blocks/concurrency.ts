// Running work side by side: a bounded pool, a promise settled from outside, and the store's gate.
/** Run fn over items, n at a time; after a failure no new item starts, and it returns once all running ones are done. */
export async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await fn(items[next++]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(n, items.length) }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export function deferred(): Deferred {
  let resolveFn!: () => void;
  let rejectFn!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolveFn = res;
    rejectFn = rej;
  });
  promise.catch(() => undefined); // awaited by whoever depends on it; never an unhandled rejection
  return { promise, resolve: resolveFn, reject: rejectFn };
}

/** Shared holders run together; fsck runs alone. Shared never waits for a waiting exclusive (no cross-store deadlock). */
export class Gate {
  private shared = 0;
  private exclusive = false;
  private waiters: (() => void)[] = [];

  async withShared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await new Promise<void>((r) => this.waiters.push(r));
    this.shared++;
    try {
      return await fn();
    } finally {
      this.shared--;
      this.wake();
    }
  }

  async withExclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive || this.shared) await new Promise<void>((r) => this.waiters.push(r));
    this.exclusive = true;
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.wake();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
