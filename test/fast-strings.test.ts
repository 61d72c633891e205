/**
 * @redis/client 5 (under @keyv/redis) declares `class VerbatimString extends String`, which leaves
 * String.prototype in V8 dictionary mode: string methods in optimized code then take a slow generic path in
 * the whole process (src/stores/fast-strings.ts). Creating a cache on Redis must put the prototype back in
 * fast mode. Checked in a child process with V8's own %HasFastProperties, so nothing here is timed.
 * Runs against dist/ (npm test builds first).
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runScript } from './support/child-script.js'
import { REDIS_URL, redisAvailable, uniquePrefix } from './support/redis.js'

const root = join(import.meta.dirname, '..')

function probe(body: string): Promise<Record<string, boolean>> {
  return runScript(
    `
    import { createRequire } from 'node:module'
    const require = createRequire(${JSON.stringify(join(root, 'package.json'))})
    const fast = () => %HasFastProperties(String.prototype);
    const seen = { atStart: fast() }
    ${body}
    console.log(JSON.stringify(seen))
    process.exit(0)
  `,
    { nodeArgs: ['--allow-natives-syntax'] },
  )
}

const dist = pathToFileURL(join(root, 'dist', 'index.js')).href

describe.runIf(redisAvailable)('String.prototype stays fast with a Redis store', () => {
  it('a redis:// store undoes what loading @keyv/redis did', { timeout: 20_000 }, async () => {
    const seen = await probe(`
      require('@keyv/redis')
      seen.afterKeyvRedis = fast()
      const { createIsrCache } = await import(${JSON.stringify(dist)})
      const cache = createIsrCache({ store: ${JSON.stringify(REDIS_URL)}, prefix: ${JSON.stringify(uniquePrefix('fast-strings'))} })
      seen.afterCreate = fast()
      await cache.set('k', 'v')
      seen.afterUse = fast()
      await cache.close()
    `)
    // The precondition: the pinned client does break it (if an upgrade fixes that, this line says so).
    expect(seen).toEqual({ atStart: true, afterKeyvRedis: false, afterCreate: true, afterUse: true })
  })

  it("a user's own node-redis client, loaded before isr-cache, is covered too", { timeout: 20_000 }, async () => {
    const seen = await probe(`
      const { createClient } = require('@redis/client')
      const client = createClient({ url: ${JSON.stringify(REDIS_URL)} })
      seen.afterClient = fast()
      const { createIsrCache } = await import(${JSON.stringify(dist)})
      const cache = createIsrCache({ store: client, prefix: ${JSON.stringify(uniquePrefix('fast-strings-client'))} })
      seen.afterCreate = fast()
      await cache.close()
    `)
    expect(seen).toEqual({ atStart: true, afterClient: false, afterCreate: true })
  })
})
