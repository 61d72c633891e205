// Cached by '/blog/**' (tagged `posts`, and `post:<slug>` by its Cache-Tag); ?page= is part of the key.
import { defineHandler } from 'nitro'

export default defineHandler((event) => {
  const slug = event.context.params?.slug ?? ''
  const page = event.url.searchParams.get('page') ?? '1'
  event.res.headers.set('cache-tag', `post:${encodeURIComponent(slug)}`)
  return { slug, page, id: Math.random().toString(36).slice(2, 10), utm: event.url.searchParams.get('utm_source') }
})
