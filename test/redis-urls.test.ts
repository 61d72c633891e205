/** The `redis+cluster://` and `redis+sentinel://` URL forms: what they become, and what a malformed one says. */
import { describe, expect, it } from 'vitest'
import { createIsrCache, IsrCacheError } from '../src/index.js'
import { clusterOptions, parseTopologyUrl, sentinelOptions } from '../src/stores/redis-urls.js'

const backoff = (attempt: number) => attempt

function refusal(store: string): IsrCacheError {
  try {
    createIsrCache({ store })
  } catch (error) {
    return error as IsrCacheError
  }
  throw new Error(`createIsrCache accepted ${store}`)
}

describe('redis+cluster:// and redis+sentinel:// URLs', () => {
  it('turn into createCluster options: every node a root node, credentials and TLS for every connection', () => {
    const options = clusterOptions('rediss+cluster://app:p%40ss@10.0.0.1:7000,[::1]:7001', 'rediss+cluster', backoff) as {
      rootNodes: unknown[]
      defaults: { username: string; password: string; disableOfflineQueue: boolean; socket: { tls: boolean; reconnectStrategy: unknown } }
    }
    expect(options.rootNodes).toEqual([{ socket: { host: '10.0.0.1', port: 7000 } }, { socket: { host: '::1', port: 7001 } }])
    expect(options.defaults).toMatchObject({ username: 'app', password: 'p@ss', disableOfflineQueue: true, socket: { tls: true, reconnectStrategy: backoff } })
  })

  it('turn into createSentinel options: the sentinels, the master name, the master credentials', () => {
    const options = sentinelOptions('redis+sentinel://:secret@s1:26379,s2:26380/my%20master', 'redis+sentinel', backoff) as Record<string, unknown>
    expect(options.name).toBe('my master')
    expect(options.sentinelRootNodes).toEqual([{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }])
    expect(options.nodeClientOptions).toMatchObject({ password: 'secret', disableOfflineQueue: true })
    expect((options.nodeClientOptions as Record<string, unknown>).username).toBe(undefined)
    expect(parseTopologyUrl('redis+sentinel://s1:1/m', 'redis+sentinel').tls).toBe(false)
  })

  it.each([
    ['redis+cluster://', 'names no host'],
    ['redis+cluster://10.0.0.1', '"10.0.0.1" is not host:port'],
    ['redis+cluster://10.0.0.1:7000,10.0.0.2:99999', '"10.0.0.2:99999" is not host:port'],
    ['redis+cluster://10.0.0.1:7000/1', 'a cluster URL has no path'],
    ['redis+cluster://10.0.0.1:7000?tls=1', 'query parameters are not supported'],
    ['redis+sentinel://10.0.0.1:26379', 'must end with the master name'],
    ['redis+sentinel://10.0.0.1:26379/', 'must end with the master name'],
    ['redis+sentinel://10.0.0.1:26379/a/b', 'must end with the master name'],
    ['redis+sentinel://user:%zz@10.0.0.1:26379/m', 'not valid percent-encoding'],
  ])('refuses %s at construction with E_INVALID_OPTION (%s)', (url, problem) => {
    const error = refusal(url)
    expect(error).toBeInstanceOf(IsrCacheError)
    expect(error.code).toBe('E_INVALID_OPTION')
    expect(error.message).toContain(problem)
    expect(error.message).toContain('redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster') // an example of the right form
  })

  it('never shows the password of a refused URL', () => {
    const error = refusal('redis+sentinel://app:hunter2@10.0.0.1:26379')
    expect(error.message).not.toContain('hunter2')
    expect(error.message).toContain('//…@10.0.0.1:26379')
  })

  it('lists the new forms in the message for an unknown scheme', () => {
    expect(refusal('redis+proxy://h:1').message).toContain('"redis+cluster://host:6379,host:6379"')
  })
})

describe('the URL parser, fuzzed', () => {
  it('any text after the scheme parses or is refused with E_INVALID_OPTION, never another error', async () => {
    const fc = await import('fast-check')
    fc.assert(
      fc.property(fc.constantFrom('redis+cluster', 'rediss+cluster', 'redis+sentinel', 'rediss+sentinel' as const), fc.string({ maxLength: 60, unit: 'binary' }), (scheme, rest) => {
        const url = `${scheme}://${rest}`
        try {
          if (scheme.endsWith('cluster')) clusterOptions(url, scheme, backoff)
          else sentinelOptions(url, scheme, backoff)
        } catch (error) {
          expect(error).toBeInstanceOf(IsrCacheError)
          expect((error as IsrCacheError).code).toBe('E_INVALID_OPTION')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('host:port lists, credentials and a master name come back as they were written', async () => {
    const fc = await import('fast-check')
    const host = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/), fc.ipV4(), fc.ipV6().map((v6) => `[${v6}]`))
    const node = fc.tuple(host, fc.integer({ min: 1, max: 65535 }))
    fc.assert(
      fc.property(fc.array(node, { minLength: 1, maxLength: 5 }), fc.string({ maxLength: 12 }), fc.string({ minLength: 1, maxLength: 12 }), (nodes, password, name) => {
        const auth = password === '' ? '' : `:${encodeURIComponent(password)}@`
        const url = `redis+sentinel://${auth}${nodes.map(([h, p]) => `${h}:${p}`).join(',')}/${encodeURIComponent(name)}`
        const parsed = parseTopologyUrl(url, 'redis+sentinel')
        expect(parsed.nodes).toEqual(nodes.map(([h, p]) => ({ host: h.replace(/^\[|\]$/g, ''), port: p })))
        expect(parsed.password).toBe(password === '' ? undefined : password)
        expect((sentinelOptions(url, 'redis+sentinel', backoff) as { name: string }).name).toBe(name)
      }),
      { numRuns: 500 },
    )
  })
})
