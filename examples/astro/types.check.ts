// Type-checked by test/astro.e2e.test.ts against the installed astro and isr-cache tarball:
// createIsrMiddleware returns an Astro MiddlewareHandler that composes with sequence().
import type { MiddlewareHandler } from 'astro'
import { defineMiddleware, sequence } from 'astro/middleware'
import { createIsrCache } from 'isr-cache'
import { createIsrMiddleware } from 'isr-cache/astro'

const cache = createIsrCache()
export const isr: MiddlewareHandler = createIsrMiddleware({ cache, routes: { '/': { revalidate: 60 }, '/blog/*': { revalidate: false, tags: ['posts'] } } })
const poweredBy = defineMiddleware(async (_context, next) => {
  const response = await next()
  response.headers.set('x-powered-by', 'astro')
  return response
})
export const onRequest: MiddlewareHandler = sequence(createIsrMiddleware({ cache }), poweredBy)
