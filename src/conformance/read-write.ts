/** Conformance tests: reads, writes and overwrites, and values as copies. */
import type { IsrCache } from '../cache.js'
import { must, show, OVERWRITE_HINT, SHARED_HINT, type Suite } from './suite.js'

/** Reads, writes and overwrites: what every store must do with bytes and lastModified. */
export function readWriteTests({ test, expect, setup, shared }: Suite): void {
  test('misses an absent key, then hits what was set', async () => {
    const { cache, errors, close } = await setup()
    try {
      expect(await cache.get('absent')).toBe(undefined)
      expect(await cache.set('page', { html: '<h1>hi</h1>' })).toBe(true)
      const found = await cache.get('page')
      expect(found?.status).toBe('hit')
      expect(found?.value).toEqual({ html: '<h1>hi</h1>' })
      expect(errors).toEqual([])
    } finally {
      await close()
    }
  })

  test('round-trips binary and structured values exactly', async () => {
    const { cache, close } = await setup()
    try {
      const bytes = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 37) % 256))
      const value = {
        buffer: bytes,
        typed: new Uint8Array([0, 1, 254, 255]),
        map: new Map<string, unknown>([['a', Buffer.from('x')], ['b', { nested: [1, 'two', null] }]]),
        set: new Set([1, 2]),
        date: new Date(1_700_000_000_000),
        missing: undefined,
        text: 'héllo ✓',
        big: 2n ** 70n,
      }
      await cache.set('binary', value)
      const found = (await cache.get<typeof value>('binary'))!.value
      expect(Buffer.isBuffer(found.buffer)).toBe(true)
      expect(Buffer.compare(found.buffer, bytes)).toBe(0)
      expect(found.typed instanceof Uint8Array && !Buffer.isBuffer(found.typed)).toBe(true)
      expect([...found.typed]).toEqual([0, 1, 254, 255])
      expect(found.map instanceof Map).toBe(true)
      expect(Buffer.isBuffer(found.map.get('a'))).toBe(true)
      expect(found.map.get('b')).toEqual({ nested: [1, 'two', null] })
      expect([...found.set]).toEqual([1, 2])
      expect(found.date.getTime()).toBe(1_700_000_000_000)
      expect('missing' in found).toBe(true)
      expect(found.text).toBe('héllo ✓')
      expect(found.big).toBe(2n ** 70n)
    } finally {
      await close()
    }
  })

  test('never replaces a newer entry with an older one', async () => {
    const { cache, clock, close } = await setup()
    try {
      const t = clock.now()
      expect(await cache.set('k', 'new', { lastModified: t })).toBe(true)
      expect(await cache.set('k', 'old', { lastModified: t - 1000 })).toBe(false)
      const kept = (await cache.get('k'))?.value
      must(kept === 'new', `an older write replaced a newer one: get('k') returned ${show(kept)} where 'new' was expected`)
      expect(await cache.set('k', 'newer', { lastModified: t + 1 })).toBe(true)
      const newer = (await cache.get('k'))?.value
      must(newer === 'newer', `a newer write did not replace the stored entry: get('k') returned ${show(newer)}. ${OVERWRITE_HINT}`)
    } finally {
      await close()
    }
  })

  test('a later write replaces an earlier one, also as seen by a second cache (set overwrites)', async () => {
    const { caches, clock, close } = await setup({}, 2)
    const [a, b] = caches as [IsrCache, IsrCache]
    try {
      await a.set('k', 'first')
      clock.advance(1)
      await a.set('k', 'second')
      const own = (await a.get('k'))?.value
      must(own === 'second', `after set('k', 'first') and a later set('k', 'second'), get('k') returned ${show(own)}. ${OVERWRITE_HINT}`)
      if (shared) {
        const other = (await b.get('k'))?.value
        must(
          other === 'second',
          other === undefined
            ? `a second cache found nothing where the first had written 'first', then 'second'. ${SHARED_HINT}`
            : `a second cache on the store read ${show(other)} where the first had written 'first', then 'second'. ${OVERWRITE_HINT}`,
        )
      }
    } finally {
      await close()
    }
  })
}
/** Values are copies: no object a caller holds is ever what the cache serves. */
export function copyTests({ test, expect, setup }: Suite): void {
  for (const l1 of [false, true]) {
    test(`values are copies: mutating what was stored, or what a miss returned, changes nothing cached (L1 ${l1 ? 'on' : 'off'})`, async () => {
      const { cache, close } = await setup({ l1 })
      try {
        const value = { n: 1, list: [1] }
        await cache.set('set', value)
        value.n = 99
        value.list.push(2)
        const afterSet = (await cache.get('set'))?.value
        must(show(afterSet) === show({ n: 1, list: [1] }), `a value mutated after set() changed what get() returns: ${show(afterSet)}. The cache must keep a copy`)
        const miss = await cache.getOrSet('miss', () => ({ n: 1 }))
        miss.value.n = 99
        const afterMiss = (await cache.get('miss'))?.value
        must(show(afterMiss) === show({ n: 1 }), `a value mutated after a getOrSet miss changed what get() returns: ${show(afterMiss)}. The cache must keep a copy`)
        class Page {
          constructor(readonly html: string) {}
          render(): string {
            return this.html
          }
        }
        await cache.set('instance', new Page('<p>x</p>'))
        const stored = (await cache.get('instance'))?.value
        must(
          Object.getPrototypeOf(stored) === Object.prototype,
          'a class instance came back with its prototype: every store must return what a decode of the stored bytes gives (a plain object)',
        )
        expect(stored).toEqual({ html: '<p>x</p>' })
      } finally {
        await close()
      }
    })
  }
}
