import { defineMiddleware } from 'astro:middleware'

// Astro runs the cache provider around the whole render, this middleware included: it runs for renders
// only, so its header is stored with the page.
export const onRequest = defineMiddleware(async (_context, next) => {
  const response = await next()
  response.headers.set('x-rendered-by', 'astro7')
  return response
})
