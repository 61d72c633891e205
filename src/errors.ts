/**
 * Stable error codes. Each names one kind of failure; the default error sink logs each kind once per minute,
 * not once per request.
 */
export type IsrCacheErrorCode =
  /** An option passed to `createIsrCache` is invalid. Thrown at construction. */
  | 'E_INVALID_OPTION'
  /** A key, tag, path or per-call option is invalid. Thrown by the call that received it. */
  | 'E_INVALID_INPUT'
  /** A store URL needs a package that is not installed. Thrown at construction. */
  | 'E_MISSING_PEER'
  /** A store read failed or missed its deadline; the lookup was treated as a miss. Reported, never thrown. */
  | 'E_STORE_READ'
  /** A store write failed or missed its deadline; the value was still returned. Reported, never thrown. */
  | 'E_STORE_WRITE'
  /**
   * The store failed repeatedly and the circuit breaker skips it for a while (reads are misses, writes are
   * dropped, purges and deletes reject). Reported when the circuit opens, not per skipped call.
   */
  | 'E_STORE_UNAVAILABLE'
  /** A stored entry could not be decoded (corrupt, foreign or from an unknown format); treated as a miss. */
  | 'E_DECODE'
  /** A value could not be encoded (e.g. it holds a function). Thrown by `set`; reported by `getOrSet`. */
  | 'E_ENCODE'
  /** The regenerate function threw. Reported for background runs; thrown to waiters when nothing can be served. */
  | 'E_REGENERATE'
  /** A caller waited longer than `hardTimeout` for a regeneration. Thrown to that caller only. */
  | 'E_HARD_TIMEOUT'
  /** The cache was used after `close()`. */
  | 'E_CLOSED'

/** The one error class of isr-cache: a stable `code`, a message that names the fix, the underlying `cause`. */
export class IsrCacheError extends Error {
  override readonly name = 'IsrCacheError'
  readonly code: IsrCacheErrorCode
  /** The cache key concerned, where there is one. */
  readonly key?: string
  /** For `E_REGENERATE`: whether the regeneration ran in the background (a stale entry was served meanwhile). */
  readonly background?: boolean

  constructor(
    code: IsrCacheErrorCode,
    message: string,
    details: { cause?: unknown; key?: string; background?: boolean } = {},
  ) {
    super(message.startsWith('[isr-cache]') ? message : `[isr-cache] ${message}`, { cause: details.cause })
    this.code = code
    if (details.key !== undefined) this.key = details.key
    if (details.background !== undefined) this.background = details.background
  }
}

/** A short description of an unknown thrown value, for messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
