/** Secrets compared in constant time, whatever their lengths. */
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest()

/**
 * Whether `given` equals `expected`, in time independent of where they differ: both are hashed first, so
 * timingSafeEqual compares two digests of equal length and the length of the secret does not show either.
 */
export function secretMatches(given: string | null | undefined, expected: Buffer): boolean {
  if (typeof given !== 'string' || given.length === 0) return false
  return timingSafeEqual(digest(given), expected)
}

/** The digest `secretMatches` compares against, computed once at construction. */
export function secretDigest(secret: string): Buffer {
  return digest(secret)
}
