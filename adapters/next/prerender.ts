/**
 * Pages prerendered by `next build` are written to `.next/server/app` only, never to a custom cache
 * handler, so with one their first request is a MISS and a re-render. This reads them from the build output
 * on first use instead: each `.meta` file names the exact cache key (`routeCache.key`, Next 16.3.8+ and
 * 15.5.27+), next to the `.html`, `.rsc`, `.segments/`, `.body` or `.json` files of the page or route (in
 * `.next/server/app` and `.next/server/pages`). The entry is
 * stored with the build's time as its lastModified, so it never replaces anything newer in the store, and
 * it is then read back through the cache, so a purge issued since the build still applies to it.
 */
import { existsSync } from 'node:fs'
import { readFile, readdir, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { CacheResult } from '../../src/index.js'
import { coreTags, lifetimes, type Shared, type StoredNextEntry } from './shared.js'

interface Prerendered {
  base: string
  route: string
  router: 'app' | 'pages'
  meta: {
    routeCache?: { key?: string; isFallback?: boolean }
    routeCacheLastModified?: number
    cacheControl?: { revalidate: number | false; expire?: number }
    headers?: Record<string, unknown>
    status?: number
    postponed?: string
    segmentPaths?: string[]
  }
}

interface BuildIndex {
  byKey: Map<string, Prerendered>
  routes: Record<string, { initialRevalidateSeconds?: number | false; initialExpireSeconds?: number }>
}

const indexes = new WeakMap<Shared, Promise<BuildIndex>>()
const attempted = new WeakMap<Shared, Set<string>>()

async function walk(dir: string, found: string[]): Promise<void> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (!entry.name.endsWith('.segments')) await walk(path, found)
    } else if (entry.name.endsWith('.meta')) found.push(path)
  }
}

async function buildIndex(state: Shared): Promise<BuildIndex> {
  const byKey = new Map<string, Prerendered>()
  for (const router of ['app', 'pages'] as const) {
    const root = join(state.distDir, 'server', router)
    const metas: string[] = []
    await walk(root, metas)
    for (const file of metas) {
      try {
        const meta = JSON.parse(await readFile(file, 'utf8')) as Prerendered['meta']
        const key = meta.routeCache?.key
        // Fallback shells are served by Next itself, under the route's own lookup.
        if (typeof key !== 'string' || meta.routeCache?.isFallback === true) continue
        const base = file.slice(0, -'.meta'.length)
        const path = relative(root, base).split(sep).join('/')
        byKey.set(key, { base, route: path === 'index' ? '/' : `/${path}`, router, meta })
      } catch {
        // an unreadable meta file: that page is simply not seeded
      }
    }
  }
  let routes: BuildIndex['routes'] = {}
  try {
    const manifest = JSON.parse(await readFile(join(state.distDir, 'prerender-manifest.json'), 'utf8')) as { routes?: BuildIndex['routes'] }
    routes = manifest.routes ?? {}
  } catch {
    // no manifest: seeded entries get the cache's defaults
  }
  return { byKey, routes }
}

async function segments(base: string, paths: string[] | undefined): Promise<Map<string, Buffer> | undefined> {
  const dir = `${base}.segments`
  if (!existsSync(dir)) return undefined
  const map = new Map<string, Buffer>()
  if (Array.isArray(paths) && paths.length > 0) {
    for (const path of paths) map.set(path, await readFile(`${dir}${path}.segment.rsc`))
    return map
  }
  const files: string[] = []
  const collect = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name)
      if (entry.isDirectory()) await collect(path)
      else if (entry.name.endsWith('.segment.rsc')) files.push(path)
    }
  }
  await collect(dir)
  for (const file of files) map.set(`/${relative(dir, file).split(sep).join('/').slice(0, -'.segment.rsc'.length)}`, await readFile(file))
  return map
}

/**
 * The stored form of a prerendered page or route for this Next key, read back through the cache; undefined
 * where the build has none (or it has been purged, or something newer is in the store).
 */
export async function seedFromBuild(state: Shared, nextKey: string, storeKey: string): Promise<CacheResult<StoredNextEntry> | undefined> {
  let tried = attempted.get(state)
  if (tried === undefined) attempted.set(state, (tried = new Set()))
  if (tried.has(nextKey)) return undefined // once per key and process: after that, the store knows
  tried.add(nextKey)
  let index = indexes.get(state)
  if (index === undefined) indexes.set(state, (index = buildIndex(state)))
  const { byKey, routes } = await index
  const page = byKey.get(nextKey)
  if (page === undefined) return undefined

  const { base, meta } = page
  let value: Record<string, unknown>
  let builtAt: number
  // The same files, read the same way, as Next's own file-system cache reads its build seeds.
  if (page.router === 'pages') {
    if (!existsSync(`${base}.html`) || !existsSync(`${base}.json`)) return undefined
    value = {
      kind: 'PAGES',
      html: await readFile(`${base}.html`, 'utf8'),
      pageData: JSON.parse(await readFile(`${base}.json`, 'utf8')) as unknown,
      headers: meta.headers,
      status: meta.status,
    }
    builtAt = (await stat(`${base}.html`)).mtimeMs
  } else if (existsSync(`${base}.body`)) {
    value = { kind: 'APP_ROUTE', body: await readFile(`${base}.body`), status: meta.status ?? 200, headers: meta.headers ?? {} }
    builtAt = (await stat(`${base}.body`)).mtimeMs
  } else if (existsSync(`${base}.html`)) {
    value = {
      kind: 'APP_PAGE',
      html: await readFile(`${base}.html`, 'utf8'),
      // A partially prerendered page has no full RSC payload: Next resumes it from `postponed`.
      rscData: meta.postponed == null && existsSync(`${base}.rsc`) ? await readFile(`${base}.rsc`) : undefined,
      headers: meta.headers,
      postponed: meta.postponed,
      status: meta.status,
      segmentData: await segments(base, meta.segmentPaths),
    }
    builtAt = (await stat(`${base}.html`)).mtimeMs
  } else {
    return undefined
  }
  const route = routes[page.route]
  const cacheControl = meta.cacheControl ?? { revalidate: route?.initialRevalidateSeconds ?? false, expire: route?.initialExpireSeconds }
  const header = meta.headers?.['x-next-cache-tags']
  const tags = coreTags(typeof header === 'string' && header !== '' ? header.split(',') : [])
  const entry: StoredNextEntry = { value: value as StoredNextEntry['value'], cacheControl: { revalidate: cacheControl.revalidate, expire: cacheControl.expire } }
  const lastModified = Math.floor(meta.routeCacheLastModified ?? builtAt)
  await state.cache.set(storeKey, entry, { tags, ...lifetimes(state, cacheControl.revalidate, cacheControl.expire), lastModified })
  // Read back: a purge since the build, or a newer entry, decides what is served.
  return state.cache.get<StoredNextEntry>(storeKey)
}
