// The one cache of the app: the middleware and the revalidation endpoint share it. ISR_CACHE_STORE is read
// when the server starts (redis://… for several instances); without it the cache is in memory.
import { createIsrCache } from 'isr-cache'

export const cache = createIsrCache({
  store: process.env.ISR_CACHE_STORE,
  ...(process.env.ISR_CACHE_PREFIX ? { prefix: process.env.ISR_CACHE_PREFIX } : {}),
})
