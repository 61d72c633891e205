/** The envelope round-trips every supported value exactly, with and without compression, and any damage
 * to stored bytes is an E_DECODE error, never another exception and never a wrong value. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeEntry, encodeEntry, HEADER_BYTES, peekLastModified, type Entry } from '../src/codec.js'
import { IsrCacheError } from '../src/errors.js'

const leaf = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.double({ noNaN: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 300 }),
)

const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object'), tie('map')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  object: fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 5, noNullPrototype: true }),
  map: fc.array(fc.tuple(fc.string({ maxLength: 8 }), tie('node')), { maxLength: 4 }).map((pairs) => new Map(pairs)),
})).node

const entryOf = (v: unknown): Entry => ({ value: v, tags: ['t'], path: '/p', lastModified: 1_800_000_000_123, revalidate: 60, expire: 3600 })

/** Deep equality that also tells Buffer from Uint8Array (toStrictEqual compares prototypes). */
function same(actual: unknown, expected: unknown): void {
  expect(actual).toStrictEqual(expected)
}

describe('codec', () => {
  it('round-trips any supported value exactly', async () => {
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const decoded = await decodeEntry(await encodeEntry(entryOf(v)))
        same(decoded.value, v)
        expect(decoded.tags).toEqual(['t'])
        expect(decoded.path).toBe('/p')
        expect(decoded.lastModified).toBe(1_800_000_000_123)
      }),
      { numRuns: 500 },
    )
  })

  it('round-trips with gzip and brotli, and only keeps compression when it helps', async () => {
    await fc.assert(
      fc.asyncProperty(value, fc.constantFrom('gzip' as const, 'brotli' as const), async (v, algorithm) => {
        const plain = await encodeEntry(entryOf(v))
        const packed = await encodeEntry(entryOf(v), { threshold: 0, algorithm })
        expect(packed.length).toBeLessThanOrEqual(plain.length)
        same((await decodeEntry(packed)).value, v)
      }),
      { numRuns: 200 },
    )
    const page = { html: '<p>hello</p>'.repeat(5000) }
    const packed = await encodeEntry(entryOf(page), { threshold: 1024, algorithm: 'gzip' })
    expect(packed.length).toBeLessThan(JSON.stringify(page).length / 10)
    same((await decodeEntry(packed)).value, page)
  })

  it('stores bytes raw: a 50 KB binary part costs about 50 KB', async () => {
    const rscData = Buffer.alloc(50 * 1024, 7)
    const encoded = await encodeEntry(entryOf({ html: '<html></html>', rscData }))
    expect(encoded.length / (rscData.length + 13)).toBeLessThan(1.01)
  })

  it('reports damaged bytes as E_DECODE, never as a wrong value', async () => {
    const original = await encodeEntry(entryOf({ html: 'x'.repeat(200), data: Buffer.from([1, 2, 3]) }))
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), async (offset, flip) => {
        const damaged = Buffer.from(original)
        damaged[offset] = damaged[offset]! ^ flip
        try {
          const decoded = await decodeEntry(damaged)
          // A flip inside the header's digits may still decode; the value itself must be intact then.
          expect(offset).toBeLessThan(HEADER_BYTES)
          same(decoded.value, { html: 'x'.repeat(200), data: Buffer.from([1, 2, 3]) })
        } catch (error) {
          expect(error).toBeInstanceOf(IsrCacheError)
          expect((error as IsrCacheError).code).toBe('E_DECODE')
        }
      }),
      { numRuns: 500 },
    )
    for (const junk of [Buffer.alloc(0), Buffer.from('hello'), Buffer.from('ISR1'), Buffer.alloc(HEADER_BYTES, 0)]) {
      await expect(decodeEntry(junk)).rejects.toMatchObject({ code: 'E_DECODE' })
    }
    expect(peekLastModified(original)).toBe(1_800_000_000_123)
  })

  it('refuses values it cannot store with E_ENCODE, naming what can be stored', async () => {
    await expect(encodeEntry(entryOf({ f: () => 1 }))).rejects.toMatchObject({ code: 'E_ENCODE' })
    await expect(encodeEntry(entryOf(Symbol('x')))).rejects.toThrow(/A cached value may hold plain objects/)
  })
})
