/**
 * getOrSet's regenerate function may set `context.entryOptions`: the tags, revalidate and expire of the
 * value it returns, for callers that learn them only from the regeneration (an HTTP response's headers).
 */
import { describe, expect, it } from 'vitest'
import { createIsrCache } from '../src/index.js'

describe('RegenerateContext.entryOptions', () => {
  it('replaces the call options for the value written', async () => {
    let at = 1_000_000
    const cache = createIsrCache({ now: () => at })
    const first = await cache.getOrSet(
      'k',
      (context) => {
        context.entryOptions = { tags: ['from-render'], revalidate: 5, expire: 50 }
        return 'v1'
      },
      { tags: ['from-call'], revalidate: 100 },
    )
    expect(first.status).toBe('miss')
    expect((await cache.get('k'))?.tags).toEqual(['from-render'])
    at += 6_000 // past the render's revalidate (5 s), well before the call's (100 s)
    expect((await cache.get('k'))?.status).toBe('stale')
    at += 50_000 // past the render's expire
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('purges by the tags the render gave', async () => {
    const cache = createIsrCache()
    await cache.getOrSet('k', (context) => {
      context.entryOptions = { tags: ['posts'] }
      return 'v1'
    })
    expect((await cache.get('k'))?.status).toBe('hit')
    await cache.revalidateTag('posts')
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('sets the path, for revalidatePath', async () => {
    const cache = createIsrCache()
    await cache.getOrSet('/blog/a?page=2', (context) => {
      context.entryOptions = { path: '/blog/a' }
      return 'v1'
    })
    expect((await cache.get('/blog/a?page=2'))?.status).toBe('hit')
    await cache.revalidatePath('/blog', { type: 'layout' })
    expect(await cache.get('/blog/a?page=2')).toBeUndefined()
    await cache.close()
  })

  it('an invalid value rejects the waiters, and nothing is written', async () => {
    const cache = createIsrCache({ onError: () => {} })
    await expect(
      cache.getOrSet('k', (context) => {
        context.entryOptions = { revalidate: 10, expire: 5 }
        return 'v1'
      }),
    ).rejects.toMatchObject({ code: 'E_INVALID_INPUT' })
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })
})
