/**
 * A deadline on a call's work. Its timer is referenced: while a call waits, nothing else of the cache's may
 * be holding the event loop, and a script whose top-level await is pending on an empty loop exits with code
 * 13 before the call answers. It is cleared once the work settles, so an idle cache keeps no process alive.
 * (The other waits a caller awaits, in leases.ts and purge-acks.ts, keep their timers referenced for the
 * same reason.)
 */

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
