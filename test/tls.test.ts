/**
 * Redis over TLS, against a real redis-server listening with TLS (a private one, test/support/redis-server.ts)
 * and a self-signed certificate made here with openssl:
 *   - a `rediss://` URL store, trusting the certificate through NODE_EXTRA_CA_CERTS (Node's own mechanism for
 *     a private CA), in a child process: entries, and purges over the pub/sub bus, which is a second TLS
 *     connection;
 *   - a node-redis client the user configured with the CA;
 *   - a certificate nobody trusts: fail-open (a miss, the page regenerated), and the error says why.
 * Runs against dist/ for the child process (npm test builds first).
 *
 * Without `redis-server` or `openssl` on PATH the suite is skipped with a loud message; under CI=true that
 * is a failure.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIsrCache, type IsrCacheError } from '../src/index.js'
import { runScript } from './support/child-script.js'
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from './support/redis-server.js'

const opensslAvailable = spawnSync('openssl', ['version']).status === 0
if (!opensslAvailable) {
  const message = '\n\n!!! No `openssl` on PATH: the Redis TLS suite is SKIPPED.\n!!! Install it, e.g.: apt-get install openssl\n\n'
  if (process.env.CI === 'true') throw new Error(`openssl is required under CI=true. ${message}`)
  console.warn(message)
}

const root = join(import.meta.dirname, '..')

describe.runIf(redisServerAvailable && opensslAvailable)('Redis over TLS', () => {
  let dir: string
  let certFile: string
  let server: PrivateRedis
  let tlsUrl: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'isr-cache-tls-'))
    certFile = join(dir, 'cert.pem')
    const keyFile = join(dir, 'key.pem')
    // A self-signed certificate for 127.0.0.1, valid for a day.
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-keyout', keyFile, '-out', certFile,
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { encoding: 'utf8' })
    if (made.status !== 0) throw new Error(`openssl could not make a certificate:\n${made.stderr}`)
    server = await startPrivateRedis({ tls: { certFile, keyFile } })
    tlsUrl = server.tlsUrl as string
  }, 30_000)

  afterAll(async () => {
    await server?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('a rediss:// URL store: an entry written by one instance is a hit on another, and a purge reaches it over the TLS bus', { timeout: 30_000 }, async () => {
    // Two instances in one process, like two pods: instance b holds the entry in its L1 and keeps its tag
    // records for an hour, so only the bus (pub/sub on its own TLS connection) can tell it about the purge.
    const script = `
      const { createIsrCache } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)})
      const errors = []
      const options = { store: ${JSON.stringify(tlsUrl)}, prefix: 'tls-e2e', onError: (e) => errors.push(e.message) }
      const a = createIsrCache(options)
      const b = createIsrCache({ ...options, l1MaxAge: 3600, tagCacheTtl: 3600 })
      await a.set('page', { html: '<h1>over TLS</h1>', body: Buffer.from([0, 1, 255]) }, { tags: ['t'] })
      const first = await b.get('page')
      const beforePurge = await b.get('page')
      const l1Hits = b.stats().l1Hits
      await a.revalidateTag('t')
      let afterPurge = beforePurge
      const giveUpAt = Date.now() + 5000
      while (afterPurge !== undefined && Date.now() < giveUpAt) {
        await new Promise((r) => setTimeout(r, 20))
        afterPurge = await b.get('page')
      }
      const result = {
        first: first && { status: first.status, html: first.value.html, body: [...first.value.body] },
        l1Hits,
        purged: afterPurge === undefined,
        errors,
      }
      await a.close()
      await b.close()
      console.log(JSON.stringify(result))
    `
    const result = await runScript(script, { env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile }, timeoutMs: 25_000 })
    expect(result).toEqual({
      first: { status: 'hit', html: '<h1>over TLS</h1>', body: [0, 1, 255] },
      l1Hits: 1,
      purged: true,
      errors: [],
    })
  })

  it('a node-redis client given the CA in its socket options', { timeout: 20_000 }, async () => {
    const client = createClient({ url: tlsUrl, socket: { tls: true, ca: readFileSync(certFile) } })
    client.on('error', () => {})
    const errors: IsrCacheError[] = []
    const cache = createIsrCache({ store: client, prefix: 'tls-client', onError: (error) => errors.push(error) })
    try {
      await cache.set('k', 'v')
      expect(await cache.get('k')).toMatchObject({ status: 'hit', value: 'v' })
      expect(errors).toEqual([])
    } finally {
      await cache.close()
      if (client.isOpen) await client.close()
    }
  })

  it('a certificate nobody trusts: the cache fails open, regenerates, and reports why', { timeout: 20_000 }, async () => {
    const errors: IsrCacheError[] = []
    const cache = createIsrCache({ store: tlsUrl, prefix: 'tls-untrusted', readTimeout: 0.5, writeTimeout: 1, onError: (error) => errors.push(error) })
    try {
      expect(await cache.get('k')).toBeUndefined()
      const served = await cache.getOrSet('page', async () => 'rendered without the cache')
      expect(served).toMatchObject({ value: 'rendered without the cache' })
      await new Promise((r) => setTimeout(r, 200))
      const said = errors.map((error) => `${error.code}: ${error.message}`).join('\n')
      expect(said).toMatch(/E_STORE_/)
      expect(said).toMatch(/certificate/i)
    } finally {
      await cache.close()
    }
  })
})
