import { sequence } from '@sveltejs/kit/hooks'
import type { Handle } from '@sveltejs/kit'
import { createIsrHandle } from 'isr-cache/sveltekit'
import { cache } from '#lib/server/cache.ts'

const revalidate = Number(process.env.REVALIDATE ?? 10)

// Which paths are cached. A page without a rule may still opt in from its load (see /opt-in).
const isr = createIsrHandle({
  cache,
  routes: {
    '/': { revalidate },
    '/isr': { revalidate },
    '/stampede': { revalidate: false },
    '/blog/*': { revalidate: false, tags: ['posts'] },
    '/stream': { revalidate },
    '/cookie': { revalidate },
    '/bench': { revalidate: 3600 },
    '/bench-uncached': false,
    '/api/**': false,
  },
  bypassToken: process.env.ISR_CACHE_BYPASS_TOKEN,
})

// Any other hook composes with it. This one runs for renders only (a cached answer skips what follows
// the cache in the sequence), so its header is stored with the page.
const poweredBy: Handle = async ({ event, resolve }) => {
  const response = await resolve(event)
  response.headers.set('x-rendered-by', 'sveltekit')
  return response
}

// BENCH=1 (npm run bench:sveltekit): /bench?__map answers the same route's bytes from a plain Map, the
// ceiling for any cache in a handle hook (routing included, as for the cached /bench); /__map/__cpu reports
// this process's CPU time.
const map = new Map<string, { status: number; headers: Record<string, string>; body: Uint8Array }>()
const bench: Handle = async ({ event, resolve }) => {
  if (event.url.pathname === '/__map/__cpu') return Response.json(process.cpuUsage())
  if (!event.url.searchParams.has('__map')) return resolve(event)
  let stored = map.get(event.url.pathname)
  if (stored === undefined) {
    const rendered = await event.fetch(new URL('/bench-uncached', event.url), { credentials: 'omit' })
    const headers = Object.fromEntries(rendered.headers)
    delete headers['set-cookie']
    stored = { status: rendered.status, headers, body: new Uint8Array(await rendered.arrayBuffer()) }
    map.set(event.url.pathname, stored)
  }
  return new Response(stored.body, { status: stored.status, headers: stored.headers })
}

export const handle = process.env.BENCH === '1' ? sequence(bench, isr, poweredBy) : sequence(isr, poweredBy)
