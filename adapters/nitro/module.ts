/**
 * What the Nuxt and the Nitro module do at build time, on a Nitro config: register the runtime files (a
 * server middleware, a plugin, and the revalidation endpoint if asked), the server auto-imports, the
 * runtime config keys, the payload route rules Nuxt needs, and tell Nitro to bundle isr-cache (so the
 * runtime files and a route's `import … from 'isr-cache/nitro'` are one copy) and to ship the store
 * packages the app has installed. Route rules' `isr` values are checked here, so a typo fails the build.
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { IsrCacheError } from '../../src/errors.js'
import { payloadRules, translateIsrRule } from './rules.js'

/** Options of the module: `isrCache` in nuxt.config.ts / nitro.config.ts. Build-time only (no secrets here). */
export interface IsrCacheModuleOptions {
  /**
   * Serve the revalidation endpoint (CMS webhooks: `POST { "tags": […], "paths": […] }` with
   * `Authorization: Bearer <secret>`) at this path. It answers only when a secret is set at run time
   * (`NUXT_ISR_CACHE_SECRET` / `NITRO_ISR_CACHE_SECRET`, or `ISR_CACHE_SECRET`); the start-up log says so
   * when not. Default: not served.
   */
  revalidationPath?: string | false
}

/** The part of a Nitro config (`NitroConfig` in `nitro:config`, or the resolved `nitro.options`) the module edits. */
export interface NitroConfigLike {
  rootDir?: string
  handlers?: Array<{ route?: string; middleware?: boolean; handler: string; method?: string; lazy?: boolean }>
  plugins?: string[]
  imports?: false | { presets?: Array<{ from: string; imports: string[] }> }
  routeRules?: Record<string, Record<string, unknown>>
  runtimeConfig?: Record<string, unknown>
  externals?: { inline?: Array<string | RegExp>; traceInclude?: string[] }
  [key: string]: unknown
}

const OPTION_NAMES = new Set(['revalidationPath'])

/** The directory of the built runtime files (dist/runtime/nitro/), next to the built module. */
export function runtimeDir(): string {
  return fileURLToPath(new URL('./runtime/nitro/', import.meta.url))
}

export function checkModuleOptions(options: unknown): IsrCacheModuleOptions {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) throw new IsrCacheError('E_INVALID_OPTION', '[isr-cache] isrCache must be an object, e.g. { revalidationPath: "/api/revalidate" }')
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) {
      throw new IsrCacheError('E_INVALID_OPTION', `[isr-cache] isrCache.${key} is not an option (known: revalidationPath). The store, secret and bypass token are runtime settings: NUXT_ISR_CACHE_STORE, NUXT_ISR_CACHE_SECRET, NUXT_ISR_CACHE_BYPASS_TOKEN`)
    }
  }
  const path = (options as IsrCacheModuleOptions).revalidationPath
  if (path !== undefined && path !== false && (typeof path !== 'string' || !path.startsWith('/') || /[?#*:]/.test(path))) {
    throw new IsrCacheError('E_INVALID_OPTION', `[isr-cache] isrCache.revalidationPath must be a plain path starting with "/", e.g. "/api/revalidate"; got ${JSON.stringify(path)}`)
  }
  return options as IsrCacheModuleOptions
}

/** The entry file of a store package the app installed (for Nitro's dependency tracing), if it is. */
export function installed(name: string, rootDir: string): string | undefined {
  try {
    return createRequire(join(rootDir, 'package.json')).resolve(name)
  } catch {
    return undefined
  }
}

/**
 * `runtimeConfig.isrCache`: empty strings that Nitro fills from the environment at run time (nothing
 * secret is written at build time), and what the plugin needs to know of the build.
 */
export function writeRuntimeConfig(config: { runtimeConfig?: Record<string, unknown> }, options: IsrCacheModuleOptions, nuxt: boolean, envPrefix: 'NUXT_' | 'NITRO_'): void {
  config.runtimeConfig ??= {}
  const existing = (config.runtimeConfig.isrCache ?? {}) as Record<string, unknown>
  config.runtimeConfig.isrCache = {
    store: '',
    secret: '',
    bypassToken: '',
    prefix: '',
    namespace: '',
    ...existing,
    revalidationPath: typeof options.revalidationPath === 'string' ? options.revalidationPath : '',
    nuxtPayloads: nuxt,
    envPrefix,
  }
}

/**
 * Edits a Nitro config for isr-cache. `nuxt`: serve pages' `_payload.json` from their page's entry and add
 * the payload rules; `envPrefix`: the prefix of the app's runtime config variables (`NUXT_` or `NITRO_`).
 */
export function configureNitro(config: NitroConfigLike, input: unknown, { nuxt, envPrefix, rootDir }: { nuxt: boolean; envPrefix: 'NUXT_' | 'NITRO_'; rootDir: string }): void {
  const options = checkModuleOptions(input)
  const routeRules = (config.routeRules ??= {})
  for (const [pattern, rule] of Object.entries(routeRules)) translateIsrRule(rule?.isr, pattern)
  if (nuxt) Object.assign(routeRules, payloadRules(routeRules))

  const dir = runtimeDir()
  config.handlers ??= []
  config.handlers.push({ middleware: true, handler: join(dir, 'middleware.js') })
  if (typeof options.revalidationPath === 'string') config.handlers.push({ route: options.revalidationPath, handler: join(dir, 'revalidate.js') })
  config.plugins ??= []
  config.plugins.push(join(dir, 'plugin.js'))
  if (config.imports !== false) {
    config.imports ??= {}
    config.imports.presets ??= []
    config.imports.presets.push({ from: 'isr-cache/nitro', imports: ['useIsrCache', 'defineIsrEventHandler'] })
  }
  writeRuntimeConfig(config, options, nuxt, envPrefix)
  // One copy of isr-cache in the server bundle: the runtime files and the app's own imports of it.
  config.externals ??= {}
  config.externals.inline ??= []
  config.externals.inline.push(fileURLToPath(new URL('./', import.meta.url)), 'isr-cache')
  // The store packages are loaded on demand, which Nitro's tracing cannot see: ship the installed ones.
  config.externals.traceInclude ??= []
  for (const name of ['@keyv/redis', '@keyv/sqlite']) {
    const found = installed(name, rootDir)
    if (found !== undefined) config.externals.traceInclude.push(found)
  }
}
