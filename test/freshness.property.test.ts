/**
 * Properties of the tag purge records: the bounded merged record classifies exactly as the full purge
 * history (and never more loosely once the window cap merges windows); a record that expired never makes an
 * entry it concerned fresh again; the Redis script merges exactly as the TypeScript function.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { applyPurge, classify, MAX_OPEN_WINDOWS, recordNeededUntil, type EntryMeta, type Freshness, type TagRecord } from '../src/freshness.js'
import { RedisDriver } from '../src/stores/redis.js'
import { keyLayout } from '../src/stores/driver.js'
import { redisAvailable, REDIS_URL, uniquePrefix, dropPrefix } from './support/redis.js'
import KeyvRedis from '@keyv/redis'

const T0 = 1_800_000_000_000
const RANK: Record<Freshness, number> = { fresh: 0, stale: 1, expired: 2 }

/** Purges as (gap since the previous one in ms, soft window in s; 0 = hard). */
const purgeSequence = (max: number) =>
  fc.array(fc.record({ gap: fc.integer({ min: 0, max: 5_000 }), expire: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })) }), { maxLength: max })

function history(purges: Array<{ gap: number; expire: number }>) {
  let at = T0
  return purges.map((p) => ({ at: (at += p.gap), expiredAt: at + p.expire * 1000, expire: p.expire }))
}

function exact(meta: EntryMeta, events: Array<{ at: number; expiredAt: number }>, now: number): Freshness {
  const base = classify(meta, [], now)
  if (base === 'expired') return base
  let stale = false
  for (const e of events) {
    if (meta.lastModified > e.at) continue
    if (now >= e.expiredAt) return 'expired'
    stale = true
  }
  return stale ? 'stale' : base
}

function fold(events: Array<{ at: number; expire: number }>): TagRecord | undefined {
  let record: TagRecord | undefined
  for (const e of events) record = applyPurge(record, e.at, e.expire)
  return record
}

const entry = (lastModified: number): EntryMeta => ({ lastModified, revalidate: false, expire: 365 * 86_400, allTags: ['t'] })

describe('purge records', () => {
  it('classify exactly as the full purge history', () => {
    fc.assert(
      fc.property(purgeSequence(30), fc.integer({ min: -1000, max: 160_000 }), fc.integer({ min: 0, max: 200_000 }), (purges, written, later) => {
        const events = history(purges)
        const record = fold(events)
        const last = events.at(-1)?.at ?? T0
        const meta = entry(T0 + written)
        const now = Math.max(last, meta.lastModified) + later
        expect(classify(meta, [record], now)).toBe(exact(meta, events, now))
      }),
      { numRuns: 3000 },
    )
  })

  it('at the purge boundary: an entry written in the millisecond of a purge is purged by it, one written a millisecond later is not', () => {
    // The generator above rarely lands an entry exactly on a purge; here it always does (or 1 ms either side).
    fc.assert(
      fc.property(purgeSequence(12).filter((p) => p.length > 0), fc.nat(), fc.constantFrom(-1, 0, 1), fc.integer({ min: 0, max: 30_000 }), (purges, pick, offset, later) => {
        const events = history(purges)
        const chosen = events[pick % events.length]!
        const meta = entry(chosen.at + offset)
        const now = Math.max(events.at(-1)!.at, meta.lastModified) + later
        const state = classify(meta, [fold(events)], now)
        expect(state).toBe(exact(meta, events, now))
        // Written in or before the chosen purge's millisecond: that purge concerns it, so it is never fresh.
        if (offset <= 0) expect(state).not.toBe('fresh')
      }),
      { numRuns: 3000 },
    )
  })

  it('stay bounded, and past the window cap are never looser than the history', () => {
    // Rising soft windows: none makes another redundant, so the cap has to merge.
    const rising = fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: MAX_OPEN_WINDOWS + 1, maxLength: MAX_OPEN_WINDOWS * 3 })
    fc.assert(
      fc.property(rising, fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 3_000_000 }), (gaps, pick, later) => {
        let at = T0
        const events = gaps.map((gap, i) => ({ at: (at += gap), expire: 1000 + i * 10, expiredAt: at + (1000 + i * 10) * 1000 }))
        const record = fold(events)!
        expect(record.windows.length).toBeLessThanOrEqual(MAX_OPEN_WINDOWS)
        const meta = entry(events[Math.min(pick, events.length - 1)]!.at - 1)
        const now = at + later
        expect(RANK[classify(meta, [record], now)]).toBeGreaterThanOrEqual(RANK[exact(meta, events, now)])
      }),
      { numRuns: 500 },
    )
  })

  it('never make an entry fresh again once the record itself has expired', () => {
    const maxExpireS = 1000
    fc.assert(
      fc.property(
        purgeSequence(10).filter((p) => p.length > 0),
        fc.integer({ min: 1, max: maxExpireS }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 5_000_000 }),
        (purges, expireS, writtenBeforeLast, after) => {
          const events = history(purges)
          const record = fold(events)!
          const last = events.at(-1)!
          // An entry the last purge concerns (written at or before it), with any allowed expire.
          const meta: EntryMeta = { lastModified: last.at - writtenBeforeLast, revalidate: false, expire: expireS, allTags: ['t'] }
          const gone = recordNeededUntil(record, maxExpireS * 1000)
          // From the moment the store drops the record, reads see no record at all:
          expect(classify(meta, [undefined], gone + after)).toBe('expired')
        },
      ),
      // The tightest case: written at the last purge, the longest expire, read the moment the record goes.
      { numRuns: 3000, examples: [[[{ gap: 0, expire: 0 }], maxExpireS, 0, 0], [[{ gap: 10, expire: 5 }], maxExpireS, 0, 0]] },
    )
  })
})

describe.runIf(redisAvailable)('the Redis purge script', () => {
  it('merges exactly as applyPurge', async () => {
    const prefix = uniquePrefix('purge-script')
    const store = new KeyvRedis(REDIS_URL)
    const driver = new RedisDriver(store as never, keyLayout(prefix), true)
    try {
      let run = 0
      await fc.assert(
        fc.asyncProperty(purgeSequence(12), async (purges) => {
          const tag = `tag-${(run += 1)}`
          let expected: TagRecord | undefined
          for (const e of history(purges)) {
            await driver.purgeTags([tag], e.at, e.expire, 86_400_000)
            expected = applyPurge(expected, e.at, e.expire)
          }
          const [stored] = await driver.readTags([tag])
          expect(stored).toEqual(expected)
        }),
        { numRuns: 150 },
      )
    } finally {
      await driver.close()
      await dropPrefix(prefix)
    }
  })
})
