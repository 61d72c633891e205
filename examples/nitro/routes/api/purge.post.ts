// useIsrCache() (auto-imported) in a route of the app's own: purges a tag with the core. Guarded by the
// same secret as the revalidation endpoint, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (value: string) => createHash('sha256').update(value).digest()

export default defineEventHandler(async (event) => {
  const secret = process.env.NITRO_ISR_CACHE_SECRET ?? process.env.ISR_CACHE_SECRET ?? ''
  const given = getRequestHeader(event, 'authorization')?.replace(/^Bearer /, '') ?? ''
  if (secret === '' || !timingSafeEqual(digest(given), digest(secret))) throw createError({ statusCode: 401, statusMessage: 'Unauthorized' })
  const { tag } = await readBody<{ tag: string }>(event)
  await useIsrCache().revalidateTag(tag)
  return { purged: tag }
})
