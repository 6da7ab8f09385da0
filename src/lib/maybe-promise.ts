// A value that is usually ready: the request path's steady state answers
// without a microtask, and only a first token check, a session question or a
// pairing makes it wait.

export type MaybePromise<T> = T | Promise<T>;

/** `next` applied to `value`: at once when it is ready, after it settles when it is a promise. */
export function andThen<T, U>(value: MaybePromise<T>, next: (settled: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
