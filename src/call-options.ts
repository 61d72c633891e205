/**
 * Per-call options of the `IsrCache` methods, checked before any work: unknown names are refused (a typo
 * would otherwise be silently ignored), values are checked and the first mistake is thrown as
 * `E_INVALID_INPUT`. Options of `createIsrCache` are in settings.ts.
 */
import { entryFrom } from './entry.js'
import { IsrCacheError } from './errors.js'
import type { Settings } from './settings.js'
import { checkKnown, checkObject, layoutTag, pageTag, seconds } from './validate.js'

const GET_OPTION_NAMES = ['tags']
const ENTRY_OPTION_NAMES = ['tags', 'path', 'revalidate', 'expire']
const SET_OPTION_NAMES = [...ENTRY_OPTION_NAMES, 'lastModified']
const GET_OR_SET_OPTION_NAMES = [...ENTRY_OPTION_NAMES, 'softTimeout', 'hardTimeout']

/** `get`'s options: checked without allocating in the common case (`{ tags }` on every Next.js lookup). */
export function checkGetOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) checkObject(options, 'get options')
  for (const name in options as object) {
    if (name !== 'tags') checkKnown(options as Record<string, unknown>, GET_OPTION_NAMES, 'get options', 'E_INVALID_INPUT')
  }
}

/** `set`'s options, and the entry's lastModified (default: now, the time of the call). */
export function setOptions(options: unknown, now: () => number): { input: Record<string, unknown>; lastModified: number } {
  const input = checkObject(options, 'set options')
  checkKnown(input, SET_OPTION_NAMES, 'set options', 'E_INVALID_INPUT')
  let lastModified = now()
  if (input.lastModified !== undefined) {
    if (typeof input.lastModified !== 'number' || !Number.isFinite(input.lastModified) || input.lastModified < 0) {
      throw new IsrCacheError('E_INVALID_INPUT', `lastModified must be epoch milliseconds (a finite number ≥ 0); got ${String(input.lastModified)}`)
    }
    lastModified = input.lastModified
  }
  return { input, lastModified }
}

/**
 * `getOrSet`'s options, all checked (the entry options too, before any work). Returns them as given, so that
 * a hit allocates nothing here: `softTimeout` and `hardTimeout`, once checked, are numbers of seconds or absent.
 */
export function getOrSetOptions(options: unknown, settings: Settings): Record<string, unknown> {
  const input = checkObject(options, 'getOrSet options')
  checkKnown(input, GET_OR_SET_OPTION_NAMES, 'getOrSet options', 'E_INVALID_INPUT')
  entryFrom(undefined, input, 0, settings) // validates the entry options before any work
  const softTimeout = input.softTimeout === undefined ? undefined : (seconds('E_INVALID_INPUT', 'softTimeout', input.softTimeout, { positive: true }) as number)
  const hardTimeout = input.hardTimeout === undefined ? undefined : (seconds('E_INVALID_INPUT', 'hardTimeout', input.hardTimeout, { positive: true }) as number)
  if (softTimeout !== undefined && hardTimeout !== undefined && softTimeout > hardTimeout) {
    throw new IsrCacheError(
      'E_INVALID_INPUT',
      `softTimeout (${softTimeout} s) is longer than hardTimeout (${hardTimeout} s): a caller that has a stale page to serve would wait longer than one that has nothing. Make softTimeout shorter than hardTimeout`,
    )
  }
  return input
}

/** `revalidateTag`'s options: the raw `expire` (checked by the purge itself). */
export function revalidateTagOptions(options: unknown): unknown {
  const input = checkObject(options, 'revalidateTag options')
  checkKnown(input, ['expire'], 'revalidateTag options', 'E_INVALID_INPUT')
  return input.expire
}

/** `revalidatePath`'s options: the tag to purge (the page's, or the layout's for `type: 'layout'`) and the raw `expire`. */
export function revalidatePathOptions(normalizedPath: string, options: unknown): { tag: string; expire: unknown } {
  const input = checkObject(options, 'revalidatePath options')
  checkKnown(input, ['type', 'expire'], 'revalidatePath options', 'E_INVALID_INPUT')
  const type = input.type ?? 'page'
  if (type !== 'page' && type !== 'layout') {
    throw new IsrCacheError('E_INVALID_INPUT', `revalidatePath type must be "page" (the path only) or "layout" (the path and everything below it); got ${JSON.stringify(type)}`)
  }
  return { tag: type === 'page' ? pageTag(normalizedPath) : layoutTag(normalizedPath), expire: input.expire }
}

/** The `expire` of a purge, in seconds: 0 (hard, the default) or a soft window, clamped to maxExpire. */
export function purgeExpire(expireInput: unknown, settings: Settings): number {
  return expireInput === undefined ? 0 : Math.min(seconds('E_INVALID_INPUT', 'expire', expireInput) as number, settings.maxExpireMs / 1000)
}

/** `acquireLease`'s options: the lease's ttl in ms (default: the cache's lease ttl). */
export function acquireLeaseOptions(options: unknown, settings: Settings): number {
  const input = checkObject(options, 'acquireLease options')
  checkKnown(input, ['ttl'], 'acquireLease options', 'E_INVALID_INPUT')
  return input.ttl === undefined ? settings.leaseTtlMs : (seconds('E_INVALID_INPUT', 'ttl', input.ttl, { positive: true }) as number) * 1000
}
