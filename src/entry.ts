/**
 * Entries as the engine holds them: `Held` (an entry with the tags a purge must consider, computed once),
 * built from a value and its per-call options, and `Kept` (what the cache keeps of a value: a snapshot
 * decoded from the encoded bytes, and the bytes to write).
 */
import { encodeSnapshot, type CompressionOptions, type Entry } from './codec.js'
import { IsrCacheError } from './errors.js'
import type { Settings } from './settings.js'
import { checkPath, checkTags, implicitTags, seconds } from './validate.js'

/** An entry with the tags a purge must consider (own tags and its path's implicit tags), computed once. */
export type Held = Entry & { allTags: string[] }

export function withAllTags(entry: Entry): Held {
  const held = entry as Held
  held.allTags ??= entry.path === undefined ? entry.tags : [...entry.tags, ...implicitTags(entry.path)]
  return held
}

/** An entry as the cache keeps it: a snapshot decoded from its bytes, and the bytes to write. */
export interface Kept {
  /** What lookups are served: decoded from `bytes`, never an object a caller holds. */
  snapshot: Held
  /** The encoded envelope the store gets. */
  bytes: Buffer
}

/** An entry from a value and per-call entry options (`tags`, `path`, `revalidate`, `expire`); throws E_INVALID_INPUT. */
export function entryFrom(value: unknown, input: Record<string, unknown>, lastModified: number, settings: Settings): Held {
  const tags = input.tags === undefined ? [] : checkTags(input.tags)
  const path = input.path === undefined ? undefined : checkPath(input.path)
  const revalidate = input.revalidate === undefined ? settings.revalidate : seconds('E_INVALID_INPUT', 'revalidate', input.revalidate, { allowFalse: true })
  let expire = input.expire === undefined ? settings.expire : (seconds('E_INVALID_INPUT', 'expire', input.expire, { positive: true }) as number)
  expire = Math.min(expire, settings.maxExpireMs / 1000)
  if (revalidate !== false && revalidate > expire) {
    throw new IsrCacheError('E_INVALID_INPUT', `revalidate (${revalidate} s) exceeds expire (${expire} s): the entry would expire before turning stale. Lower revalidate or raise expire`)
  }
  return withAllTags({ value, tags, path, lastModified, revalidate, expire })
}

/**
 * What the cache keeps of a value: a copy decoded from its encoded bytes, so that no object a caller holds
 * (the value passed to `set`, the one a regenerate function returned) is ever served to another lookup.
 * Every store and tier then gives the same value semantics. Throws `E_ENCODE`.
 */
export async function keep(held: Held, compression: CompressionOptions | false): Promise<Kept> {
  const { bytes, value } = await encodeSnapshot(held, compression)
  return { snapshot: withAllTags({ value, tags: held.tags, path: held.path, lastModified: held.lastModified, revalidate: held.revalidate, expire: held.expire }), bytes }
}
