// useIsrCache() (imported: Nitro 3 has no auto-imports) in a route of the app's own: purges a tag with the
// core. Guarded by the same secret as the revalidation endpoint, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import { useIsrCache } from 'isr-cache/nitro'
import { defineHandler, HTTPError } from 'nitro'

const digest = (value: string) => createHash('sha256').update(value).digest()

export default defineHandler(async (event) => {
  const secret = process.env.NITRO_ISR_CACHE_SECRET ?? process.env.ISR_CACHE_SECRET ?? ''
  const given = event.req.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''
  if (secret === '' || !timingSafeEqual(digest(given), digest(secret))) throw new HTTPError({ status: 401, statusText: 'Unauthorized' })
  const { tag } = (await event.req.json()) as { tag: string }
  await useIsrCache().revalidateTag(tag)
  return { purged: tag }
})
