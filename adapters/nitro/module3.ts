/**
 * What the Nitro module does at build time on Nitro 3 (`nitro` 3.x, h3 v2): what module.ts does on Nitro 2,
 * with Nitro 3's runtime files (web-standard events, `serverFetch` renders) and its build options. No
 * auto-imports (Nitro 3 has none): routes import `useIsrCache` from `isr-cache/nitro`. No payloads either
 * (no Nuxt release runs on Nitro 3 yet).
 */
import { join } from 'node:path'
import { checkModuleOptions, installed, runtimeDir, writeRuntimeConfig } from './module.js'
import { translateIsrRule } from './rules.js'

/** The part of Nitro 3's resolved `nitro.options` the module edits. */
export interface Nitro3OptionsLike {
  rootDir: string
  handlers: Array<{ route?: string; middleware?: boolean; handler: string }>
  plugins: string[]
  routeRules?: Record<string, Record<string, unknown>>
  runtimeConfig?: Record<string, unknown>
  traceDeps?: Array<string | RegExp>
  isrCache?: unknown
}

/** Edits Nitro 3's options for isr-cache (runtime variables `NITRO_ISR_CACHE_…`, or `ISR_CACHE_…`). */
export function configureNitro3(options: Nitro3OptionsLike): void {
  const moduleOptions = checkModuleOptions(options.isrCache)
  // A rule the cache cannot honour fails the build, naming the route.
  for (const [pattern, rule] of Object.entries(options.routeRules ?? {})) translateIsrRule(rule?.isr, pattern)
  const dir = runtimeDir()
  options.handlers.push({ middleware: true, handler: join(dir, 'middleware3.js') })
  if (typeof moduleOptions.revalidationPath === 'string') options.handlers.push({ route: moduleOptions.revalidationPath, handler: join(dir, 'revalidate3.js') })
  options.plugins.push(join(dir, 'plugin3.js'))
  writeRuntimeConfig(options, moduleOptions, false, 'NITRO_')
  // The store packages are loaded on demand, which Nitro's tracing cannot see: ship the installed ones.
  const stores = ['@keyv/redis', '@keyv/sqlite'].filter((name) => installed(name, options.rootDir) !== undefined)
  if (stores.length > 0) options.traceDeps = [...(options.traceDeps ?? []), ...stores]
}
