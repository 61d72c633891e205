/**
 * Model-based test of the core: random sequences of set / get / getOrSet / purges / deletes / clock moves,
 * run against the real cache and a plain reference model that keeps the full purge history (no merging,
 * no bounds). Every observable result must agree. Runs on memory (many runs), SQLite and Redis (fewer).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache, IsrCacheError, type IsrCache, type StoreOption } from '../src/index.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'

const KEYS = ['a', 'b', 'c'] as const
const TAGS = ['t1', 't2', 't3'] as const
const PATHS = ['/', '/blog', '/blog/a', '/blog/b', '/about'] as const
const BACKOFF_INITIAL_MS = 1000
const BACKOFF_MAX_MS = 8000

interface ModelEntry {
  value: number
  tags: string[]
  path: string | undefined
  lastModified: number
  revalidate: number | false
  expire: number
}

/** The reference: entries, the complete purge history, the retry backoff per key. */
class Model {
  entries = new Map<string, ModelEntry>()
  purges: Array<{ tag: string; at: number; expireMs: number }> = []
  backoff = new Map<string, { failures: number; retryAt: number }>()
  constructor(public now: number) {}

  private purgeTags(entry: ModelEntry): string[] {
    if (entry.path === undefined) return entry.tags
    const tags = [...entry.tags, `page:${entry.path}`, 'layout:/']
    let prefix = ''
    for (const segment of entry.path.split('/').filter(Boolean)) tags.push(`layout:${(prefix += `/${segment}`)}`)
    return tags
  }

  state(key: string): { entry: ModelEntry; status: 'hit' | 'stale' } | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    const age = this.now - entry.lastModified
    if (age > entry.expire * 1000) return undefined
    const tags = this.purgeTags(entry)
    let stale = false
    for (const purge of this.purges) {
      if (!tags.includes(purge.tag) || entry.lastModified > purge.at) continue
      if (this.now >= purge.at + purge.expireMs) return undefined
      stale = true
    }
    if (stale || (entry.revalidate !== false && age > entry.revalidate * 1000)) return { entry, status: 'stale' }
    return { entry, status: 'hit' }
  }

  write(key: string, entry: ModelEntry): boolean {
    const current = this.entries.get(key)
    if (current !== undefined && current.lastModified > entry.lastModified) return false
    this.entries.set(key, entry)
    return true
  }

  fail(key: string): void {
    const failures = (this.backoff.get(key)?.failures ?? 0) + 1
    this.backoff.set(key, { failures, retryAt: this.now + Math.min(BACKOFF_INITIAL_MS * 2 ** (failures - 1), BACKOFF_MAX_MS) })
  }
}

interface Real {
  cache: IsrCache
  clock: { time: number }
}

type Cmd = fc.AsyncCommand<Model, Real>

/** Waits until background regenerations and their writes have finished. */
async function drain(cache: IsrCache): Promise<void> {
  for (let i = 0; cache.stats().inflight > 0; i += 1) {
    if (i > 5000) throw new Error('regenerations did not settle')
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

const entryOptions = fc.record({
  tags: fc.subarray([...TAGS]),
  path: fc.option(fc.constantFrom(...PATHS), { nil: undefined }),
  revalidate: fc.oneof(fc.constant(false as const), fc.integer({ min: 1, max: 50 })),
  expire: fc.integer({ min: 50, max: 400 }),
})

function entryOf(value: number, o: { tags: string[]; path: string | undefined; revalidate: number | false; expire: number }, at: number): ModelEntry {
  return { value, tags: o.tags, path: o.path, lastModified: at, revalidate: o.revalidate, expire: o.expire }
}

function options(o: { tags: string[]; path: string | undefined; revalidate: number | false; expire: number }) {
  return o.path === undefined ? { tags: o.tags, revalidate: o.revalidate, expire: o.expire } : o
}

const commands = [
  fc.record({ key: fc.constantFrom(...KEYS), value: fc.integer(), o: entryOptions, back: fc.integer({ min: 0, max: 3 }) }).map(
    ({ key, value, o, back }): Cmd => ({
      check: () => true,
      async run(m, r) {
        const at = m.now - back * 1000 // sometimes an older write, to exercise "never older over newer"
        const expected = m.write(key, entryOf(value, o, at))
        expect(await r.cache.set(key, value, { ...options(o), lastModified: at })).toBe(expected)
      },
      toString: () => `set(${key}, ${value}, ${JSON.stringify(o)}, -${back}s)`,
    }),
  ),
  fc.constantFrom(...KEYS).map(
    (key): Cmd => ({
      check: () => true,
      async run(m, r) {
        const expected = m.state(key)
        const found = await r.cache.get(key)
        expect(found?.status).toBe(expected?.status)
        expect(found?.value).toBe(expected?.entry.value)
      },
      toString: () => `get(${key})`,
    }),
  ),
  fc.record({ key: fc.constantFrom(...KEYS), value: fc.integer(), o: entryOptions, fails: fc.boolean() }).map(
    ({ key, value, o, fails }): Cmd => ({
      check: () => true,
      async run(m, r) {
        const before = m.state(key)
        const produce = () => {
          if (fails) throw new Error('origin down')
          return value
        }
        if (before === undefined) {
          if (fails) {
            m.fail(key)
            await expect(r.cache.getOrSet(key, produce, options(o))).rejects.toThrow(IsrCacheError)
          } else {
            m.backoff.delete(key)
            m.write(key, entryOf(value, o, m.now))
            const result = await r.cache.getOrSet(key, produce, options(o))
            expect(result).toEqual({ value, status: 'miss', lastModified: m.now })
          }
        } else {
          const result = await r.cache.getOrSet(key, produce, options(o))
          expect(result.status).toBe(before.status)
          expect(result.value).toBe(before.entry.value)
          const waiting = m.backoff.get(key)
          if (before.status === 'stale' && (waiting === undefined || m.now >= waiting.retryAt)) {
            if (fails) m.fail(key)
            else {
              m.backoff.delete(key)
              m.write(key, entryOf(value, o, m.now))
            }
          }
        }
        await drain(r.cache)
      },
      toString: () => `getOrSet(${key}, ${fails ? 'throws' : value}, ${JSON.stringify(o)})`,
    }),
  ),
  fc.record({ tags: fc.subarray([...TAGS], { minLength: 1 }), expire: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }) }).map(
    ({ tags, expire }): Cmd => ({
      check: () => true,
      async run(m, r) {
        for (const tag of tags) m.purges.push({ tag, at: m.now, expireMs: (expire ?? 0) * 1000 })
        await r.cache.revalidateTag(tags, expire === undefined ? {} : { expire })
      },
      toString: () => `revalidateTag(${tags.join(',')}, ${expire})`,
    }),
  ),
  fc.record({ path: fc.constantFrom(...PATHS), type: fc.constantFrom('page' as const, 'layout' as const), expire: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }) }).map(
    ({ path, type, expire }): Cmd => ({
      check: () => true,
      async run(m, r) {
        m.purges.push({ tag: `${type}:${path}`, at: m.now, expireMs: (expire ?? 0) * 1000 })
        await r.cache.revalidatePath(path, expire === undefined ? { type } : { type, expire })
      },
      toString: () => `revalidatePath(${path}, ${type}, ${expire})`,
    }),
  ),
  fc.constantFrom(...KEYS).map(
    (key): Cmd => ({
      check: () => true,
      async run(m, r) {
        m.entries.delete(key)
        await r.cache.delete(key)
      },
      toString: () => `delete(${key})`,
    }),
  ),
  fc.integer({ min: 0, max: 120_000 }).map(
    (ms): Cmd => ({
      check: () => true,
      async run(m, r) {
        m.now += ms
        r.clock.time += ms
      },
      toString: () => `advance(${ms} ms)`,
    }),
  ),
]

function modelTest(storeFor: (prefix: string) => StoreOption, numRuns: number, cleanup?: (prefix: string) => Promise<void>) {
  return async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const start = 1_800_000_000_000
        const clock = { time: start }
        const prefix = uniquePrefix('model')
        const cache = createIsrCache({
          store: storeFor(prefix),
          prefix,
          now: () => clock.time,
          tagCacheTtl: 0,
          retryBackoff: { initial: BACKOFF_INITIAL_MS / 1000, max: BACKOFF_MAX_MS / 1000 },
          onError: () => {},
        })
        try {
          await fc.asyncModelRun(() => ({ model: new Model(start), real: { cache, clock } }), cmds)
        } finally {
          await cache.close()
          await cleanup?.(prefix)
        }
      }),
      { numRuns },
    )
  }
}

const dir = mkdtempSync(join(tmpdir(), 'isr-model-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the cache agrees with the reference model', () => {
  it('on the memory store', modelTest(() => 'memory://', 300), 120_000)
  it('on SQLite', modelTest((prefix) => `sqlite://${join(dir, `${prefix}.sqlite`)}`, 80), 120_000)
  it.runIf(redisAvailable)('on Redis', modelTest(() => REDIS_URL, 80, dropPrefix), 120_000)
  it('on a generic keyv store (a Map)', modelTest(() => new Map(), 50), 120_000)
})
