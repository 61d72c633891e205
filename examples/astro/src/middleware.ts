import { defineMiddleware, sequence } from 'astro:middleware'
import { createIsrMiddleware } from 'isr-cache/astro'
import { cache } from './lib/cache'

const revalidate = Number(process.env.REVALIDATE ?? 10)

// Which on-demand routes are cached (prerendered pages are files, served before any middleware). A page
// without a rule may still opt in itself with Astro.response.headers (see /opt-in).
const isr = createIsrMiddleware({
  cache,
  routes: {
    '/': { revalidate },
    '/isr': { revalidate },
    '/stampede': { revalidate: false },
    '/blog/*': { revalidate: false, tags: ['posts'] },
    '/cookie': { revalidate },
    '/session': { revalidate },
    '/bench': { revalidate: 3600 },
    '/bench-uncached': false,
    '/api/time': { revalidate, tags: ['time'] },
    '/api/revalidate': false,
  },
  bypassToken: process.env.ISR_CACHE_BYPASS_TOKEN,
})

// Runs for renders only (a cached answer skips what follows the cache), so its header is stored with the page.
const poweredBy = defineMiddleware(async (_context, next) => {
  const response = await next()
  response.headers.set('x-rendered-by', 'astro')
  return response
})

// A middleware before the cache that puts the visitor's session in Astro.locals, as an auth middleware
// would: it runs again, cookie-less, for every cached render, so no session reaches the cache (see /session).
const session = defineMiddleware((context, next) => {
  const value = context.cookies.get('session')?.value
  if (value !== undefined) context.locals.session = value
  return next()
})

// BENCH=1 (npm run bench:astro): /bench?__map answers the page's bytes from a plain Map, the ceiling for
// any cache in a middleware (routing included, as for the cached /bench); /__cpu reports this process's CPU time.
const map = new Map<string, { status: number; headers: [string, string][]; body: ArrayBuffer }>()
const bench = defineMiddleware(async (context, next) => {
  if (context.url.pathname === '/bench' && context.url.searchParams.has('__map')) {
    let stored = map.get('/bench')
    if (stored === undefined) {
      const rendered = await next()
      stored = { status: rendered.status, headers: [...rendered.headers].filter(([name]) => name !== 'set-cookie'), body: await rendered.arrayBuffer() }
      map.set('/bench', stored)
    }
    return new Response(stored.body.slice(0), { status: stored.status, headers: stored.headers })
  }
  return next()
})

export const onRequest = process.env.BENCH === '1' ? sequence(bench, session, isr, poweredBy) : sequence(session, isr, poweredBy)
