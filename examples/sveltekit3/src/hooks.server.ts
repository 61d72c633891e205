// Kit 3: the same hook as Kit 2; `$lib` is gone, Node subpath imports (#lib/*) replace it.
import { createIsrHandle } from 'isr-cache/sveltekit'
import { cache } from '#lib/server/cache.ts'

export const handle = createIsrHandle({
  cache,
  routes: { '/blog/*': { revalidate: false, tags: ['posts'] }, '/cookie': { revalidate: 60 }, '/api/**': false },
})
