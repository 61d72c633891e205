import { sequence } from '@sveltejs/kit/hooks'
import type { Handle } from '@sveltejs/kit'
import { createIsrHandle } from 'isr-cache/sveltekit'
import { cache } from '$lib/server/cache'

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

export const handle = sequence(isr, poweredBy)
