// The one cache of the app: the hook, the endpoints and form actions share it.
import { createIsrCache } from 'isr-cache'

export const cache = createIsrCache({
  store: process.env.ISR_CACHE_STORE,
  ...(process.env.ISR_CACHE_PREFIX ? { prefix: process.env.ISR_CACHE_PREFIX } : {}),
})
