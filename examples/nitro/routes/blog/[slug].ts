// Cached by '/blog/**' (tagged `posts`, and `post:<slug>` by its Cache-Tag); ?page= is part of the key.
export default defineEventHandler((event) => {
  const slug = getRouterParam(event, 'slug') ?? ''
  const page = String(getQuery(event).page ?? '1')
  setResponseHeader(event, 'cache-tag', `post:${encodeURIComponent(slug)}`)
  return { slug, page, id: Math.random().toString(36).slice(2, 10), utm: getQuery(event).utm_source ?? null }
})
