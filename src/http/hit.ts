/**
 * The HIT path for adapters: a fresh stored response found from a request's parts (its method, the URL the
 * framework already parsed, its headers), before any Request or Response is built. What it answers is
 * exactly what `isr(request, render)` would answer as a HIT; every other case (a miss, a stale entry, a
 * bypass, a preview, an unkeyable path) is undefined, and the adapter goes on to `isr` as before. Internal:
 * the Nitro and SvelteKit adapters use it; user code calls `isr`.
 */
import { peekFresh, type IsrCache } from '../cache.js'
import { storedAnswer, type StoredAnswer, type StoredResponse } from './entry.js'
import { cacheKey } from './key.js'
import type { RouteRule } from './routes.js'

/** A request as an adapter has it at hand. */
export interface HitRequest {
  method: string
  /** The request's URL, parsed (the framework's own `event.url`, say). */
  url: URL
  /** The request's headers: a Headers, or anything that reads one by its lower-case name (null when absent). */
  headers: { get(name: string): string | null }
}

/** A fresh stored response, and its age in whole seconds. */
export interface FreshHit {
  stored: StoredResponse
  age: number
}

/** The settings of a handler the HIT path reads (a part of handler.ts's `Handler`). */
export interface HitSettings {
  cache: IsrCache
  routeOf(pathname: string): { rule: RouteRule | false | undefined; path: string | undefined }
  previewCookie: string | false
  bypassDigest: Buffer | undefined
  varyNames: string[]
  ageOf(lastModified: number): number
}

/** Whether the Cookie header holds a cookie of this name. */
export function hasCookie(header: string | null, name: string): boolean {
  if (header === null) return false
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if ((eq === -1 ? pair : pair.slice(0, eq)).trim() === name) return true
  }
  return false
}

/** The fresh stored response `isr` would answer this request with as a HIT, or undefined. */
export function findFreshHit(h: HitSettings, request: HitRequest): FreshHit | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined
  const { rule, path } = h.routeOf(request.url.pathname)
  if (rule === false || path === undefined) return undefined
  if (h.previewCookie !== false && hasCookie(request.headers.get('cookie'), h.previewCookie)) return undefined
  // A bypass (or an attempt at one) is isr's to judge, in constant time.
  if (h.bypassDigest !== undefined && request.headers.get('x-isr-cache-bypass') !== null) return undefined
  const key = cacheKey(request.url, rule?.allowQuery, h.varyNames, request.headers)
  if (key.length > 4096) return undefined
  const found = peekFresh<StoredResponse>(h.cache, key)
  return found === undefined ? undefined : { stored: found.value, age: h.ageOf(found.lastModified) }
}

/** Each handler's settings, for `freshHit`. */
const settingsOf = new WeakMap<object, HitSettings>()

export function registerHitSettings(isr: object, h: HitSettings): void {
  settingsOf.set(isr, h)
}

/** `findFreshHit` for a handler made by `createIsrHandler` (undefined for any other function). */
export function freshHit(isr: object, request: HitRequest): FreshHit | undefined {
  const h = settingsOf.get(isr)
  return h === undefined ? undefined : findFreshHit(h, request)
}

/** The HIT answer for a fresh hit (304 for a matching `If-None-Match`, no body for HEAD). */
export function hitAnswer(hit: FreshHit, method: string, ifNoneMatch: string | null): StoredAnswer {
  return storedAnswer(hit.stored, method, ifNoneMatch, 'HIT', hit.age)
}

/** `hitAnswer` as a Response. */
export function hitResponse(hit: FreshHit, method: string, ifNoneMatch: string | null): Response {
  const answer = hitAnswer(hit, method, ifNoneMatch)
  return new Response(answer.body, { status: answer.status, headers: answer.headers })
}
