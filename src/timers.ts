/**
 * Timers a caller's call waits on. Both are referenced: while a call waits (on another instance's render,
 * say), nothing else of the cache's may be holding the event loop, and a script whose top-level await is
 * pending on an empty loop exits with code 13 before the call answers. Each is bounded, and cleared or
 * spent once the call settles, so an idle cache still keeps no process alive.
 */

export const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** `work`, or what `onTimeout` returns (or throws) if `work` has not settled after `ms`. */
export function timeout<T>(work: Promise<T>, ms: number, onTimeout: () => T | never): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout())
      } catch (error) {
        reject(error)
      }
    }, ms)
  })
  return Promise.race([work, limit]).finally(() => clearTimeout(timer))
}
