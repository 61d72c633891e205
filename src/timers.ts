/** Timers the engine waits on. Both are unref'd or cleared, so a cache never keeps a process alive. */

export const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

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
