import { createIsrHandle } from 'isr-cache/sveltekit'
import { cache } from '$lib/server/cache'

const revalidate = Number(process.env.REVALIDATE ?? 10)

// Which paths are cached. A page without a rule may still opt in from its load (see /opt-in).
export const handle = createIsrHandle({
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
