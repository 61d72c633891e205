/** Bad configuration and bad input: a coded IsrCacheError whose message names the problem and the fix. */
import { describe, expect, it } from 'vitest'
import { createIsrCache, IsrCacheError } from '../src/index.js'
import { requirePeer } from '../src/stores/resolve.js'

function thrown(fn: () => unknown): IsrCacheError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(IsrCacheError)
    return error as IsrCacheError
  }
  throw new Error('expected a throw')
}

async function rejected(promise: Promise<unknown>): Promise<IsrCacheError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(IsrCacheError)
    return error as IsrCacheError
  }
  throw new Error('expected a rejection')
}

describe('construction', () => {
  it.each([
    [{ revalidate: -1 }, /option revalidate must be a number of seconds \(0 or more\), or false; got -1/],
    [{ revalidate: 'soon' }, /option revalidate .* got "soon"/],
    [{ expire: 0 }, /option expire must be a number of seconds greater than 0/],
    [{ revalidate: 100, expire: 10 }, /revalidate \(100 s\) exceeds option expire \(10 s\).*Lower revalidate or raise expire/],
    [{ expire: 10, maxExpire: 5 }, /expire \(10 s\) exceeds option maxExpire/],
    [{ evictUnaccessedAfter: Number.NaN }, /option evictUnaccessedAfter must be/],
    [{ touchInterval: 100, evictUnaccessedAfter: 50 }, /touchInterval \(100 s\) must be shorter than evictUnaccessedAfter \(50 s\)/],
    [{ namespace: '' }, /option namespace must be a non-empty string/],
    [{ prefix: 42 }, /option prefix must be a non-empty string/],
    [{ maxMemoryBytes: 1.5 }, /maxMemoryBytes must be a positive whole number of bytes/],
    [{ compression: { algorithm: 'zstd' } }, /compression.algorithm must be "gzip" or "brotli"/],
    [{ compression: { level: 3 } }, /option compression has no option "level"/],
    [{ retryBackoff: { initial: -1 } }, /retryBackoff.initial must be/],
    [{ revalidat: 10 }, /createIsrCache has no option "revalidat" \(did you mean "revalidate"\?\); known options: store, namespace/],
    [{ readtimeout: 1 }, /has no option "readtimeout" \(did you mean "readTimeout"\?\)/],
    [{ zzzzzz: 1 }, /has no option "zzzzzz"; known options/],
    [{ now: 5 }, /option now must be a function/],
    [{ onError: 'log' }, /option onError must be a function/],
    [{ store: 'postgres://localhost' }, /store "postgres:\/\/localhost" is not a supported URL; use "memory:\/\/", "redis:\/\/host:6379"/],
    [{ store: 'sqlite://' }, /names no file; use e.g. "sqlite:\/\/.isr-cache\/cache.sqlite"/],
    [{ store: 42 }, /store must be a URL string, a node-redis client, a Keyv instance, a keyv store .* got number/],
    [{ store: { get() {} } }, /store must be a URL string/],
  ])('rejects %j', (options, message) => {
    const error = thrown(() => createIsrCache(options as never))
    expect(error.code).toBe('E_INVALID_OPTION')
    expect(error.message).toMatch(/^\[isr-cache\] /)
    expect(error.message).toMatch(message)
  })

  it('names the install command when a store URL needs a package that is missing', () => {
    const error = thrown(() => requirePeer('@keyv/not-installed-anywhere', 'redis'))
    expect(error.code).toBe('E_MISSING_PEER')
    expect(error.message).toContain('npm install @keyv/not-installed-anywhere')
  })
})

describe('calls', () => {
  const cache = createIsrCache()

  it.each([
    ['an empty key', () => cache.get(''), /a cache key must be a non-empty string/],
    ['a non-string key', () => cache.set(42 as never, 1), /a cache key must be a non-empty string .* got 42/],
    ['a key that is too long', () => cache.get('k'.repeat(5000)), /at most 4096 characters.*Hash longer keys/],
    ['a tag with a control character', () => cache.set('k', 1, { tags: ['a\nb'] }), /without control characters; got "a\\nb"/],
    ['an empty tag', () => cache.revalidateTag(''), /each tag must be a non-empty string/],
    ['a tag that is too long', () => cache.revalidateTag('t'.repeat(300)), /at most 256 characters .*got "t+…" \(300 characters long\)/],
    ['a typo in get options', () => cache.get('k', { tag: ['a'] } as never), /get options has no option "tag" \(did you mean "tags"\?\)/],
    ['get options that are not an object', () => cache.get('k', 'tags' as never), /get options must be an object/],
    ['softTimeout longer than hardTimeout', () => cache.getOrSet('k', () => 1, { softTimeout: 5, hardTimeout: 1 }), /softTimeout \(5 s\) is longer than hardTimeout \(1 s\).*Make softTimeout shorter/],
    ['too many tags', () => cache.revalidateTag(Array.from({ length: 600 }, (_, i) => `t${i}`)), /holds 600 tags; at most 512/],
    ['tags that are not strings', () => cache.revalidateTag({} as never), /tags must be a string or an array of strings/],
    ['a path without a slash', () => cache.revalidatePath('blog'), /must be a URL path starting with "\/"/],
    ['a path with a query', () => cache.set('k', 1, { path: '/blog?page=2' }), /without query string or fragment; got "\/blog\?page=2". Pass "\/blog" instead/],
    ['a bad revalidatePath type', () => cache.revalidatePath('/', { type: 'tree' as never }), /type must be "page" .* or "layout"/],
    ['a negative revalidate', () => cache.set('k', 1, { revalidate: -5 }), /revalidate must be a number of seconds/],
    ['revalidate above expire', () => cache.set('k', 1, { revalidate: 100, expire: 10 }), /revalidate \(100 s\) exceeds expire \(10 s\)/],
    ['an unknown set option', () => cache.set('k', 1, { ttl: 5 } as never), /set options has no option "ttl"; known options: tags, path, revalidate, expire, lastModified/],
    ['a bad lastModified', () => cache.set('k', 1, { lastModified: -1 }), /lastModified must be epoch milliseconds/],
    ['a missing regenerate function', () => cache.getOrSet('k', 'nope' as never), /regenerate function .* must be a function/],
    ['a bad softTimeout', () => cache.getOrSet('k', () => 1, { softTimeout: 0 }), /softTimeout must be a number of seconds greater than 0/],
    ['a bad purge expire', () => cache.revalidateTag('t', { expire: -1 }), /expire must be a number of seconds/],
  ])('rejects %s with E_INVALID_INPUT', async (_, call, message) => {
    // Every call reports bad input as a rejected promise, never a synchronous throw.
    let pending: unknown
    expect(() => {
      pending = call()
    }).not.toThrow()
    const error = await rejected(pending as Promise<unknown>)
    expect(error.code).toBe('E_INVALID_INPUT')
    expect(error.message).toMatch(message)
  })

  it('refuses a value it cannot store, from set, naming what can be stored', async () => {
    const error = await rejected(cache.set('k', { render: () => 'x' }))
    expect(error.code).toBe('E_ENCODE')
    expect(error.message).toMatch(/^\[isr-cache\] cannot store this value \(.*could not be cloned\)\. A cached value may hold plain objects/)
    expect(error.message).not.toMatch(/\.\./)
  })

  it('reports an unstorable getOrSet value once, in one readable line, and still returns it', async () => {
    const lines: string[] = []
    const { createDefaultReporter } = await import('../src/report.js')
    const reporter = createDefaultReporter((line) => lines.push(line))
    const reporting = createIsrCache({ onError: reporter })
    const fn = () => 1
    const result = await reporting.getOrSet('fn', () => fn)
    expect(result.value).toBe(fn)
    await reporting.close() // waits for the settling write, which reports
    expect(lines).toHaveLength(1)
    const line = lines[0]!
    // The cause is quoted once, not appended again by the reporter.
    expect(line.split('could not be cloned').length - 1).toBe(1)
    expect(line).not.toMatch(/\.\./)
    expect(await createIsrCache().get('fn')).toBe(undefined)
  })

  it('accepts revalidate: 0 (always stale: served, and regenerated on every request)', async () => {
    const zero = createIsrCache({ revalidate: 0 })
    let renders = 0
    await zero.getOrSet('k', () => (renders += 1))
    const second = await zero.getOrSet('k', () => (renders += 1))
    expect(second.status).toBe('stale')
    await zero.close()
    expect(renders).toBe(2)
  })

  it('refuses calls after close with E_CLOSED', async () => {
    const closing = createIsrCache()
    await closing.close()
    expect((await rejected(closing.get('k'))).code).toBe('E_CLOSED')
  })
})
