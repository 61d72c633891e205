/** Input checks. Each failure names the input, what was received, and what to pass instead. */
import { IsrCacheError, type IsrCacheErrorCode } from './errors.js'

export const MAX_KEY_LENGTH = 4096
export const MAX_TAG_LENGTH = 256
export const MAX_TAGS = 512
export const MAX_PATH_LENGTH = 2048

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  return typeof value
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** A duration in seconds: a finite number ≥ 0 (> 0 where `positive`). */
export function seconds(
  code: IsrCacheErrorCode,
  name: string,
  value: unknown,
  { positive = false, allowFalse = false }: { positive?: boolean; allowFalse?: boolean } = {},
): number | false {
  if (allowFalse && value === false) return false
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    const accepted = `${positive ? 'a number of seconds greater than 0' : 'a number of seconds (0 or more)'}${allowFalse ? ', or false' : ''}`
    throw new IsrCacheError(code, `${name} must be ${accepted}; got ${show(value)}`)
  }
  return value
}

export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new IsrCacheError(
      'E_INVALID_INPUT',
      `a cache key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters; got ${show(key)}. Hash longer keys (e.g. sha256) before passing them`,
    )
  }
  return key
}

/** Whether a tag is one the core accepts: 1 to MAX_TAG_LENGTH characters, no control characters. */
export function isValidTag(tag: string): boolean {
  return tag.length > 0 && tag.length <= MAX_TAG_LENGTH && !CONTROL.test(tag)
}

/** Whether a URL path is one the core accepts (before normalizing): a leading "/", no query, fragment or control characters. */
export function isValidPath(path: string): boolean {
  return path.startsWith('/') && path.length <= MAX_PATH_LENGTH && !CONTROL.test(path) && !path.includes('?') && !path.includes('#')
}

export function checkTags(tags: unknown, name = 'tags'): string[] {
  const list = typeof tags === 'string' ? [tags] : tags
  if (!Array.isArray(list)) {
    throw new IsrCacheError('E_INVALID_INPUT', `${name} must be a string or an array of strings; got ${show(tags)}`)
  }
  if (list.length > MAX_TAGS) {
    throw new IsrCacheError('E_INVALID_INPUT', `${name} holds ${list.length} tags; at most ${MAX_TAGS} are allowed per call. Group entries under fewer, broader tags`)
  }
  for (const tag of list) {
    if (typeof tag !== 'string' || !isValidTag(tag)) {
      const why =
        typeof tag !== 'string' ? '' : tag.length > MAX_TAG_LENGTH ? ` (${tag.length} characters long)` : CONTROL.test(tag) ? ' (it holds a control character)' : ''
      throw new IsrCacheError(
        'E_INVALID_INPUT',
        `each tag must be a non-empty string of at most ${MAX_TAG_LENGTH} characters without control characters; got ${show(tag)}${why} in ${name}. Hash longer tags, or use a shorter name`,
      )
    }
  }
  return [...new Set(list as string[])]
}

/** Normalizes a URL path: leading slash, no trailing slash (but "/"), no query or fragment. */
export function checkPath(path: unknown, name = 'path'): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > MAX_PATH_LENGTH || CONTROL.test(path)) {
    throw new IsrCacheError('E_INVALID_INPUT', `${name} must be a URL path starting with "/" (at most ${MAX_PATH_LENGTH} characters); got ${show(path)}`)
  }
  if (path.includes('?') || path.includes('#')) {
    throw new IsrCacheError('E_INVALID_INPUT', `${name} must be a path without query string or fragment; got ${show(path)}. Pass ${show(path.split(/[?#]/)[0])} instead`)
  }
  const trimmed = path.replace(/\/+$/, '')
  return trimmed === '' ? '/' : trimmed.replace(/\/{2,}/g, '/')
}

/**
 * Implicit tags of a path. "\u0001" cannot start a user tag (control characters are refused), so these
 * never collide with one. `/blog/a` carries its page tag and the layout tags of `/`, `/blog`, `/blog/a`.
 */
export function pageTag(path: string): string {
  return `\u0001page:${path}`
}

export function layoutTag(path: string): string {
  return `\u0001layout:${path}`
}

export function implicitTags(path: string): string[] {
  const tags = [pageTag(path), layoutTag('/')]
  let prefix = ''
  for (const segment of path.split('/')) {
    if (segment === '') continue
    prefix += `/${segment}`
    tags.push(layoutTag(prefix))
  }
  return tags
}

export function checkFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') {
    throw new IsrCacheError('E_INVALID_INPUT', `${name} must be a function; got ${show(value)}`)
  }
}

export function checkObject(value: unknown, name: string, code: IsrCacheErrorCode = 'E_INVALID_INPUT'): Record<string, unknown> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new IsrCacheError(code, `${name} must be an object; got ${show(value)}`)
  }
  return value as Record<string, unknown>
}

/** Rejects option names that are not known (a typo would otherwise be silently ignored), suggesting the closest. */
export function checkKnown(value: Record<string, unknown>, known: readonly string[], name: string, code: IsrCacheErrorCode): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const near = closest(key, known)
      const hint = near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`
      throw new IsrCacheError(code, `${name} has no option ${JSON.stringify(key)}${hint}; known options: ${known.join(', ')}`)
    }
  }
}

/** The known name nearest to a typo (case-insensitive edit distance at most a third of its length), if any. */
function closest(typo: string, known: readonly string[]): string | undefined {
  const target = typo.toLowerCase()
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(target.length / 3)) + 1
  for (const name of known) {
    const distance = editDistance(target, name.toLowerCase())
    if (distance < bestDistance) {
      best = name
      bestDistance = distance
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i]
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}
