/**
 * `withIsrCache(nextConfig, { cacheHandler, cacheHandlers })`: the Next.js config for isr-cache, and a
 * faster way to hand Next the `cacheHandler` class.
 *
 * Next `import()`s the module named by `cacheHandler` again each time it builds its incremental cache,
 * which it does two or three times per request; on Node 20 with Next's async-local storage on, that is
 * some 50 to 80 µs per request, whatever the handler does (a do-nothing handler pays it too). Next also
 * reads one class from `globalThis[Symbol.for('@next/cache-handlers')].FetchCache` when the config names no
 * `cacheHandler` (the hook a hosting platform uses to plug in its cache). Under `next start` this helper
 * imports the handler module once, puts its class there and leaves `cacheHandler` out of the config Next
 * serves with; every other phase (`next build`, `next dev`) gets `cacheHandler` as usual. When the installed
 * Next does not read that global, or `registerAtStart: false`, or `images.customCacheHandler` is on (the
 * image optimizer reads `cacheHandler` from the config only), `next start` gets `cacheHandler` too.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isAbsolute } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { nextMajorFrom } from './shared.js'

/** Next's phase names (next/constants), as its config function receives them. */
const PRODUCTION_SERVER = 'phase-production-server'
/** The slot Next's IncrementalCache reads a handler class from when the config names none. */
const GLOBAL_HANDLERS = Symbol.for('@next/cache-handlers')

/** A file that `import()` can load: an absolute path, or a `file:` URL (string or URL). */
export type ModuleLocation = string | URL

export interface WithIsrCacheOptions {
  /**
   * The module whose default export is the `cacheHandler` class (`createNextCacheHandler(…)`): an
   * absolute path or a `file:` URL, e.g. `new URL('./cache-handler.mjs', import.meta.url)`.
   */
  cacheHandler: ModuleLocation
  /**
   * `'use cache'` handlers by kind (`{ default: new URL('./use-cache-handler.mjs', import.meta.url) }`):
   * top-level `cacheHandlers` on Next 16, `experimental.cacheHandlers` on Next 15.5.
   */
  cacheHandlers?: Record<string, ModuleLocation>
  /**
   * `true` (the default): under `next start`, register the `cacheHandler` class with Next once, instead of
   * letting Next import its module again on every request. `false`: always name it in the config.
   */
  registerAtStart?: boolean
}

/** What Next accepts as next.config's default export: an object (a `NextConfig`), or a function of the phase. */
export type NextConfigFunction<C extends object = object> = (phase: string, context?: { defaultConfig?: object }) => C | Promise<C>
export type NextConfigInput<C extends object = object> = C | NextConfigFunction<C>
type NextConfigObject = Record<string, unknown>
/** What withIsrCache adds to your config (`cacheHandlers` goes under `experimental` on Next 15.5). */
export interface IsrCacheNextConfigFields {
  cacheHandler?: string
  cacheHandlers?: Record<string, string>
  cacheMaxMemorySize?: number
}

/** The module's file path, or a TypeError that says what to pass instead. */
function modulePath(location: ModuleLocation, option: string): string {
  const text = location instanceof URL ? location.href : location
  if (typeof text !== 'string' || text === '') {
    throw new TypeError(`withIsrCache: ${option} must be an absolute path or a file: URL of a module, e.g. new URL('./cache-handler.mjs', import.meta.url); got ${String(location)}`)
  }
  if (text.startsWith('file:')) return fileURLToPath(text)
  if (!isAbsolute(text)) {
    throw new TypeError(
      `withIsrCache: ${option} must be an absolute path or a file: URL (Next resolves relative ones against its output directory); got '${text}'. Write new URL('${text}', import.meta.url) in next.config.mjs`,
    )
  }
  return text
}

/** Whether the Next installed beside the handler reads a handler class from the global slot (its IncrementalCache source says). */
function nextReadsGlobalHandler(handlerFile: string): boolean {
  try {
    const source = readFileSync(createRequire(handlerFile).resolve('next/dist/server/lib/incremental-cache/index.js'), 'utf8')
    return source.includes("Symbol.for('@next/cache-handlers')") && source.includes('.FetchCache')
  } catch {
    return false // not found from there: name the handler in the config and let Next do as it does
  }
}

/** The class a handler module exports, unwrapped the way Next does (a CommonJS module's `default` too). */
async function handlerClass(file: string): Promise<unknown> {
  let exported = (await import(pathToFileURL(file).href)) as { default?: unknown }
  for (let i = 0; i < 2 && exported !== null && typeof exported === 'object' && 'default' in exported; i++) exported = exported.default as { default?: unknown }
  if (typeof exported !== 'function') {
    throw new TypeError(`withIsrCache: ${file} must export the cacheHandler class as its default export (export default createNextCacheHandler({ … })); its default export is ${exported === null ? 'null' : typeof exported}`)
  }
  return exported
}

/** Puts `Handler` in Next's global slot; false when another class is there already (a platform's). */
function registerGlobally(Handler: unknown, file: string): boolean {
  const slots = globalThis as unknown as Record<symbol, { FetchCache?: unknown } | undefined>
  const slot = (slots[GLOBAL_HANDLERS] ??= {})
  if (slot.FetchCache === Handler) return true // Next loaded its config again
  if (slot.FetchCache !== undefined) {
    console.warn(`[isr-cache] another cacheHandler class is registered with Next already (globalThis[Symbol.for('@next/cache-handlers')].FetchCache): left in place; ${file} is named in the config, and Next imports it on every request`)
    return false
  }
  slot.FetchCache = Handler
  console.log(`[isr-cache] cacheHandler registered with Next at start (${file}); Next does not import it again per request`)
  return true
}

/**
 * next.config.mjs: `export default withIsrCache({ …your config }, { cacheHandler: new URL('./cache-handler.mjs',
 * import.meta.url), cacheHandlers: { default: new URL('./use-cache-handler.mjs', import.meta.url) } })`.
 * Sets `cacheHandler`, `cacheHandlers` and `cacheMaxMemorySize: 0` (unless yours sets it); see the module
 * comment for how `next start` gets the handler.
 */
export function withIsrCache<C extends object>(nextConfig: NextConfigInput<C>, options: WithIsrCacheOptions): (phase: string, context?: { defaultConfig?: object }) => Promise<C & IsrCacheNextConfigFields> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError("withIsrCache: the second argument must be { cacheHandler: new URL('./cache-handler.mjs', import.meta.url) }")
  }
  const handlerFile = modulePath(options.cacheHandler, 'cacheHandler')
  const useCacheFiles = Object.fromEntries(Object.entries(options.cacheHandlers ?? {}).map(([kind, location]) => [kind, modulePath(location, `cacheHandlers.${kind}`)]))
  return async (phase, context) => {
    const base = (typeof nextConfig === 'function' ? await (nextConfig as NextConfigFunction<C>)(phase, context) : nextConfig) as NextConfigObject
    const experimental = (base.experimental ?? {}) as NextConfigObject
    if (base.cacheHandler !== undefined) {
      throw new TypeError('withIsrCache: your config sets cacheHandler too; leave it out (withIsrCache sets it from its cacheHandler option)')
    }
    const config: NextConfigObject = { ...base, cacheMaxMemorySize: base.cacheMaxMemorySize ?? 0 }
    if (Object.keys(useCacheFiles).length > 0) {
      if (base.cacheHandlers !== undefined || experimental.cacheHandlers !== undefined) {
        throw new TypeError('withIsrCache: your config sets cacheHandlers too; pass them as withIsrCache({ … }, { cacheHandlers })')
      }
      // Next 15.5 reads them under experimental (16 moved them out).
      if (nextMajorFrom(handlerFile) < 16) config.experimental = { ...experimental, cacheHandlers: useCacheFiles }
      else config.cacheHandlers = useCacheFiles
    }
    const images = base.images as { customCacheHandler?: boolean } | undefined
    const atStart = phase === PRODUCTION_SERVER && options.registerAtStart !== false && images?.customCacheHandler !== true
    let registered = false
    if (atStart && !nextReadsGlobalHandler(handlerFile)) {
      console.log(`[isr-cache] the installed Next does not take a registered cacheHandler class: ${handlerFile} is named in the config, and Next imports it on every request`)
    } else if (atStart) {
      registered = registerGlobally(await handlerClass(handlerFile), handlerFile)
    }
    return (registered ? config : { ...config, cacheHandler: handlerFile }) as C & IsrCacheNextConfigFields
  }
}
