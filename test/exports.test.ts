/**
 * The published package: every subpath in package.json "exports" is built by tsup, exists in dist/, and
 * loads in ESM and CJS with the same named exports; the tsup entries and the exports map agree.
 * Runs against dist/ (npm test builds first).
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import tsupConfig from '../tsup.config.js'

const root = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { import: { types: string; default: string }; require: { types: string; default: string } }>
}
const require = createRequire(join(root, 'package.json'))

const expected: Record<string, string[]> = {
  '.': ['IsrCacheError', 'createIsrCache'],
  './testing': ['runStoreConformance'],
  './next': ['createNextCacheHandler', 'createNextUseCacheHandler', 'withIsrCache'],
  './http': ['createIsrHandler', 'createRevalidationHandler'],
  './sveltekit': ['createIsrHandle', 'withIsr'],
  './astro': ['createIsrMiddleware', 'isrCacheProvider'],
  // Astro's cache provider entrypoint: the factory Astro calls (its default export).
  './astro/provider': ['cacheProviderFactory'],
  './nitro': ['defineIsrEventHandler', 'useIsrCache'],
  './nuxt': ['isrCacheModule'],
}

const subpaths = Object.keys(pkg.exports).filter((path) => path !== './package.json')

describe('package exports', () => {
  it('list exactly the tsup entries', () => {
    // runtime/…: files the Nitro and Nuxt modules register for Nitro to bundle, not subpaths.
    const entries = Object.keys((tsupConfig as { entry: Record<string, string> }).entry).filter((name) => !name.startsWith('runtime/'))
    expect(subpaths.map((p) => (p === '.' ? 'index' : p.slice(2))).sort()).toEqual(entries.sort())
    expect(subpaths.sort()).toEqual(Object.keys(expected).sort())
  })

  it.each(subpaths)('%s: files exist, and ESM and CJS export the same names', async (subpath) => {
    const target = pkg.exports[subpath] as { import: { types: string; default: string }; require: { types: string; default: string } }
    for (const file of [target.import.types, target.import.default, target.require.types, target.require.default]) {
      expect(existsSync(join(root, file)), `${file} is missing; run npm run build`).toBe(true)
    }
    const specifier = subpath === '.' ? 'isr-cache' : `isr-cache/${subpath.slice(2)}`
    const esm = (await import(specifier)) as Record<string, unknown>
    const cjs = require(specifier) as Record<string, unknown>
    const names = (module: Record<string, unknown>) => Object.keys(module).filter((name) => name !== 'default' && name !== '__esModule').sort()
    expect(names(esm)).toEqual(expected[subpath])
    expect(names(cjs)).toEqual(expected[subpath])
  })

  it('the built package works end to end in ESM and CJS', async () => {
    const esm = (await import('isr-cache')) as typeof import('../src/index.js')
    const cjs = require('isr-cache') as typeof import('../src/index.js')
    for (const { createIsrCache, IsrCacheError } of [esm, cjs]) {
      const cache = createIsrCache()
      const result = await cache.getOrSet('k', () => ({ bytes: Buffer.from([1, 2]) }))
      expect(result.status).toBe('miss')
      expect(Buffer.isBuffer((await cache.get<{ bytes: Buffer }>('k'))?.value.bytes)).toBe(true)
      expect(() => createIsrCache({ store: 'nope://' })).toThrow(IsrCacheError)
      await cache.close()
    }
  })

  it('isr-cache/http serves a MISS then a HIT in ESM and CJS', async () => {
    const esm = (await import('isr-cache/http')) as typeof import('../src/http/index.js')
    const cjs = require('isr-cache/http') as typeof import('../src/http/index.js')
    const { createIsrCache } = require('isr-cache') as typeof import('../src/index.js')
    for (const { createIsrHandler } of [esm, cjs]) {
      const cache = createIsrCache()
      const isr = createIsrHandler({ cache, routes: { '/': { revalidate: 60 } } })
      let renders = 0
      const render = () => new Response(`render ${++renders}`)
      const first = await isr(new Request('http://localhost/'), render)
      expect([first.headers.get('x-isr-cache'), await first.text()]).toEqual(['MISS', 'render 1'])
      const second = await isr(new Request('http://localhost/'), render)
      expect([second.headers.get('x-isr-cache'), await second.text()]).toEqual(['HIT', 'render 1'])
      await cache.close()
    }
  })

  it('CJS loads optional peers (the sqlite:// URL) from the built file', async () => {
    const { createIsrCache } = require('isr-cache') as typeof import('../src/index.js')
    const cache = createIsrCache({ store: 'sqlite://:memory:' })
    expect(cache.storeKind).toBe('sqlite')
    await cache.set('k', 'v')
    expect((await cache.get('k'))?.value).toBe('v')
    await cache.close()
  })
})
