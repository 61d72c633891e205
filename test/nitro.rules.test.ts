/**
 * The Nitro/Nuxt adapter's pure parts: Nitro's `isr` rule translated for the HTTP layer (property tests:
 * any input either translates to a rule createIsrHandler accepts, or throws E_INVALID_OPTION naming the
 * route; never anything else), the render's query, payload rules and URLs, the payload derived from a
 * page's HTML, runtime settings, and what the module writes into a Nitro config.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import isrCacheNitroModule from '../adapters/nitro/index.js'
import { configureNitro, type NitroConfigLike } from '../adapters/nitro/module.js'
import { payloadFromHtml } from '../adapters/nitro/payload.js'
import { payloadPage, payloadRules, renderTarget, translateIsrRule } from '../adapters/nitro/rules.js'
import { resolveSettings, describeStore } from '../adapters/nitro/settings.js'
import { defineIsrEventHandler } from '../adapters/nitro/handler.js'
import { createIsrHandler } from '../src/http/handler.js'
import { createIsrCache } from '../src/index.js'
import { IsrCacheError } from '../src/errors.js'

describe("translateIsrRule: Nitro's isr shape", () => {
  it('maps the documented forms', () => {
    expect(translateIsrRule(undefined)).toBeUndefined()
    expect(translateIsrRule(false)).toBeUndefined()
    expect(translateIsrRule(true)).toEqual({ rule: { revalidate: false }, passQuery: true })
    expect(translateIsrRule(60)).toEqual({ rule: { revalidate: 60 }, passQuery: true })
    expect(translateIsrRule({ expiration: 3600, allowQuery: ['page', 'q', 'page'] })).toEqual({ rule: { revalidate: 3600, allowQuery: ['page', 'q'] }, passQuery: true })
    expect(translateIsrRule({ expiration: false, passQuery: false, tags: ['posts'] })).toEqual({ rule: { revalidate: false, tags: ['posts'] }, passQuery: false })
    // Vercel-only fields are accepted and ignored; no expiration: until purged.
    expect(translateIsrRule({ group: 1, exposeErrBody: true })).toEqual({ rule: { revalidate: false }, passQuery: true })
  })

  it('names the route and the field of what it cannot honour', () => {
    expect(() => translateIsrRule(0, '/blog/**')).toThrow(/routeRules\["\/blog\/\*\*"\]\.isr must be a number of seconds greater than 0/)
    expect(() => translateIsrRule({ expiration: -1 }, '/x')).toThrow(/isr expiration must be/)
    expect(() => translateIsrRule({ expire: 1 }, '/x')).toThrow(/unknown field "expire"/)
    expect(() => translateIsrRule({ allowQuery: 'page' }, '/x')).toThrow(/allowQuery must be an array/)
    expect(() => translateIsrRule({ tags: [''] }, '/x')).toThrow(/tags must be an array of tags/)
    expect(() => translateIsrRule('60', '/x')).toThrow(IsrCacheError)
  })

  it('property: any value translates to a rule the HTTP layer accepts, or throws E_INVALID_OPTION; never anything else', async () => {
    const cache = createIsrCache()
    const value = fc.oneof(
      fc.anything(),
      fc.record(
        {
          expiration: fc.oneof(fc.double(), fc.integer(), fc.constant(false), fc.string()),
          allowQuery: fc.oneof(fc.array(fc.string()), fc.string()),
          passQuery: fc.oneof(fc.boolean(), fc.string()),
          tags: fc.oneof(fc.array(fc.string({ maxLength: 300 })), fc.string()),
          group: fc.integer(),
        },
        { requiredKeys: [] },
      ),
    )
    fc.assert(
      fc.property(value, (input) => {
        let translated
        try {
          translated = translateIsrRule(input, '/p')
        } catch (error) {
          expect(error).toBeInstanceOf(IsrCacheError)
          expect((error as IsrCacheError).code).toBe('E_INVALID_OPTION')
          expect((error as Error).message).toContain('routeRules["/p"].isr')
          return
        }
        if (translated === undefined) {
          expect([undefined, null, false]).toContain(input)
          return
        }
        expect(() => createIsrHandler({ cache, routes: { '/**': translated.rule } })).not.toThrow()
      }),
      { numRuns: 2000 },
    )
    await cache.close()
  })
})

describe('renderTarget: what the render is given', () => {
  const url = (search: string) => new URL(`http://x/blog/a${search}`)
  it('only the parameters the key holds, in request order; none without allowQuery or with passQuery false', () => {
    const allow = translateIsrRule({ allowQuery: ['page', 'q'] })!
    expect(renderTarget(url('?utm_source=x&q=1&page=2&q=3'), allow)).toBe('/blog/a?q=1&page=2&q=3')
    expect(renderTarget(url('?utm_source=x'), allow)).toBe('/blog/a')
    expect(renderTarget(url('?page=2'), translateIsrRule(60)!)).toBe('/blog/a')
    expect(renderTarget(url('?page=2'), translateIsrRule({ allowQuery: ['page'], passQuery: false })!)).toBe('/blog/a')
  })

  it('property: the render never sees a parameter the key ignores', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('page', 'q', 'utm', 'fbclid', 'x'), fc.string())), fc.subarray(['page', 'q', 'x']), (pairs, allowed) => {
        const search = new URLSearchParams(pairs).toString()
        const translated = translateIsrRule({ allowQuery: allowed })!
        const target = new URL(renderTarget(url(search === '' ? '' : `?${search}`), translated), 'http://x')
        for (const name of target.searchParams.keys()) expect(allowed).toContain(name)
        for (const name of allowed) expect(target.searchParams.getAll(name)).toEqual(new URLSearchParams(pairs).getAll(name))
      }),
    )
  })
})

describe('payload URLs and rules', () => {
  it('payloadPage', () => {
    expect(payloadPage('/_payload.json')).toBe('/')
    expect(payloadPage('/blog/a/_payload.json')).toBe('/blog/a')
    expect(payloadPage('/blog/a')).toBeUndefined()
    expect(payloadPage('/blog/a_payload.json')).toBeUndefined()
  })

  it('payloadRules adds the payload rule of each isr pattern that does not cover its payload already', () => {
    expect(
      payloadRules({
        '/': { isr: 60 },
        '/blog/*': { isr: { expiration: 10 } },
        '/docs/**': { isr: true },
        '/spa': { isr: 60, ssr: false },
        '/off': { isr: false },
        '/kept': { isr: 1 },
        '/kept/_payload.json': { isr: 2 },
        '/plain': {},
      }),
    ).toEqual({ '/_payload.json': { isr: 60 }, '/blog/*/_payload.json': { isr: { expiration: 10 } } })
  })
})

describe('payloadFromHtml', () => {
  const page = (json: string, attributes = '') => `<html><body><div id="__nuxt"></div><script type="application/json" data-nuxt-data="nuxt-app" data-ssr="true" id="__NUXT_DATA__"${attributes}>${json}</script></body></html>`

  it("keeps only data and prerenderedAt at the root (as Nuxt's splitPayload), through the Reactive reducer", () => {
    const flat = [['Reactive', 1], { data: 2, state: 4, serverRendered: 5 }, ['ShallowReactive', 3], { isr: 6 }, {}, true, 'a\u002Fb']
    const payload = JSON.parse(payloadFromHtml(page(JSON.stringify(flat)))!) as unknown[]
    expect(payload[0]).toEqual({ data: 2, prerenderedAt: -1 })
    expect(payload.slice(1)).toEqual(flat.slice(1))
    expect(payloadFromHtml(page(JSON.stringify(flat)))).not.toContain('/')
  })

  it('refuses what it cannot derive exactly: no script, a partial payload (data-src), bad JSON, no data', () => {
    expect(payloadFromHtml('<html></html>')).toBeUndefined()
    expect(payloadFromHtml(page('[{"data":1},{}]', ' data-src="/x/_payload.json?1"'))).toBeUndefined()
    expect(payloadFromHtml(page('[{"data":'))).toBeUndefined()
    expect(payloadFromHtml(page('[{"state":1},{}]'))).toBeUndefined()
    expect(payloadFromHtml(page('{}'))).toBeUndefined()
  })
})

describe('runtime settings', () => {
  it('runtime config first, then ISR_CACHE_…, then SQLite in the data directory when installed, else memory', () => {
    const env = { ISR_CACHE_STORE: 'redis://env:6379', ISR_CACHE_SECRET: 'from-env', ISR_CACHE_BYPASS_TOKEN: ' ' }
    expect(resolveSettings({ store: 'redis://config:6379', secret: '' }, env, true, '/data')).toMatchObject({ store: 'redis://config:6379', storeSource: 'runtime config', secret: 'from-env', bypassToken: undefined })
    expect(resolveSettings({ store: '' }, env, true, '/data')).toMatchObject({ store: 'redis://env:6379', storeSource: 'ISR_CACHE_STORE' })
    expect(resolveSettings({}, {}, true, '/data')).toMatchObject({ store: 'sqlite:///data/isr-cache.sqlite', storeSource: 'the embedded default, SQLite', secret: undefined })
    expect(resolveSettings(undefined, {}, false, '/data')).toMatchObject({ store: 'memory://', storeSource: 'the embedded default, in memory' })
  })

  it('never logs a store password', () => {
    expect(describeStore('redis://user:hunter2@host:6379')).toBe('redis://user:***@host:6379')
    expect(describeStore('memory://')).toBe('memory://')
  })
})

describe('configureNitro: what the module writes into a Nitro config', () => {
  it('registers the runtime files, auto-imports, empty runtime config keys and the payload rules', () => {
    const config: NitroConfigLike = { routeRules: { '/blog/*': { isr: 60 } }, imports: { presets: [] } }
    configureNitro(config, { revalidationPath: '/api/revalidate' }, { nuxt: true, envPrefix: 'NUXT_', rootDir: '/nowhere' })
    expect(config.handlers?.map((handler) => [handler.route, handler.middleware, handler.handler.replace(/.*\/runtime\/nitro\//, '')])).toEqual([
      [undefined, true, 'middleware.js'],
      ['/api/revalidate', undefined, 'revalidate.js'],
    ])
    expect(config.plugins?.map((plugin) => plugin.replace(/.*\/runtime\/nitro\//, ''))).toEqual(['plugin.js'])
    expect((config.imports as { presets: unknown[] }).presets).toEqual([{ from: 'isr-cache/nitro', imports: ['useIsrCache', 'defineIsrEventHandler'] }])
    expect(config.routeRules?.['/blog/*/_payload.json']).toEqual({ isr: 60 })
    expect(config.runtimeConfig?.isrCache).toEqual({ store: '', secret: '', bypassToken: '', prefix: '', namespace: '', revalidationPath: '/api/revalidate', nuxtPayloads: true, envPrefix: 'NUXT_' })
    expect(config.externals?.inline).toContain('isr-cache')
  })

  it('no endpoint without revalidationPath; a bad isr rule or option fails the build with its name', () => {
    const config: NitroConfigLike = { imports: false }
    configureNitro(config, undefined, { nuxt: false, envPrefix: 'NITRO_', rootDir: '/nowhere' })
    expect(config.handlers).toHaveLength(1)
    expect(config.imports).toBe(false)
    expect(() => configureNitro({ routeRules: { '/x': { isr: -5 } } }, {}, { nuxt: true, envPrefix: 'NUXT_', rootDir: '/' })).toThrow(/routeRules\["\/x"\]\.isr/)
    expect(() => configureNitro({}, { store: 'redis://x' }, { nuxt: true, envPrefix: 'NUXT_', rootDir: '/' })).toThrow(/isrCache.store is not an option.*NUXT_ISR_CACHE_STORE/)
    expect(() => configureNitro({}, { revalidationPath: 'api' }, { nuxt: true, envPrefix: 'NUXT_', rootDir: '/' })).toThrow(/revalidationPath must be a plain path/)
  })
})

describe('the Nitro module on Nitro 3 (nitro.meta.majorVersion 3)', () => {
  it("registers Nitro 3's runtime files and runtime config, no auto-imports or externals of Nitro 2; checks rules and options", () => {
    const options = { rootDir: '/nowhere', handlers: [], plugins: [], routeRules: { '/': { isr: 60 } }, isrCache: { revalidationPath: '/api/revalidate' } }
    isrCacheNitroModule.setup({ options, meta: { majorVersion: 3 } } as never)
    const file = (path: string) => path.replace(/.*\/runtime\/nitro\//, '')
    expect(options.handlers.map((handler: { route?: string; middleware?: boolean; handler: string }) => [handler.route, handler.middleware, file(handler.handler)])).toEqual([
      [undefined, true, 'middleware3.js'],
      ['/api/revalidate', undefined, 'revalidate3.js'],
    ])
    expect(options.plugins.map(file)).toEqual(['plugin3.js'])
    expect((options as Record<string, unknown>).runtimeConfig).toEqual({ isrCache: { store: '', secret: '', bypassToken: '', prefix: '', namespace: '', revalidationPath: '/api/revalidate', nuxtPayloads: false, envPrefix: 'NITRO_' } })
    expect(options).not.toHaveProperty('imports')
    expect(options).not.toHaveProperty('externals')
    const nitro3 = (extra: object) => ({ options: { rootDir: '/', handlers: [], plugins: [], ...extra }, meta: { majorVersion: 3 } }) as never
    expect(() => isrCacheNitroModule.setup(nitro3({ routeRules: { '/x': { isr: 0 } } }))).toThrow(/routeRules\["\/x"\]\.isr/)
    expect(() => isrCacheNitroModule.setup(nitro3({ isrCache: { store: 'redis://x' } }))).toThrow(/isrCache.store is not an option/)
  })

  it('Nitro 2 (no meta, or major 2) keeps the Nitro 2 files', () => {
    for (const meta of [undefined, { majorVersion: 2 }]) {
      const options = { rootDir: '/nowhere' } as Record<string, unknown>
      isrCacheNitroModule.setup({ options, ...(meta ? { meta } : {}) } as never)
      expect((options.handlers as Array<{ handler: string }>).map((handler) => handler.handler.replace(/.*\/runtime\/nitro\//, ''))).toEqual(['middleware.js'])
    }
  })
})

describe('defineIsrEventHandler', () => {
  it('checks its options at definition, and is an h3 handler', () => {
    const handler = defineIsrEventHandler(() => 'ok', { revalidate: 300, tags: ['posts'] })
    expect(handler.__is_handler__).toBe(true)
    expect(() => defineIsrEventHandler(() => 'ok', { revalidate: -1 })).toThrow(IsrCacheError)
    expect(() => defineIsrEventHandler(() => 'ok', { ttl: 1 } as never)).toThrow(/ttl/)
    expect(() => defineIsrEventHandler('nope' as never)).toThrow(/handler must be/)
  })

  it('without the module (no cache yet), the handler answers by itself', async () => {
    const handler = defineIsrEventHandler(async () => ({ hello: 'world' }), { revalidate: 60 })
    const event = { method: 'GET', path: '/api/x', headers: new Headers(), context: {}, node: { req: {} as never, res: {} as never } }
    expect(await handler(event)).toEqual({ hello: 'world' })
  })
})
