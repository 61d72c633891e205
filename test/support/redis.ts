/**
 * Redis for tests: the server at REDIS_URL (default redis://127.0.0.1:6379). Where none answers, Redis
 * suites are skipped with a loud message, except under CI=true, where that is a failure.
 */
import { createClient } from '@redis/client'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

async function ping(): Promise<string | undefined> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 1000, reconnectStrategy: false } })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return undefined
  } catch (error) {
    return (error as Error).message
  } finally {
    if (client.isOpen) await client.quit().catch(() => {})
  }
}

const failure = await ping()
if (failure !== undefined) {
  const message = `\n\n!!! No Redis answers at ${REDIS_URL} (${failure}): the Redis test suites are SKIPPED.\n!!! Start one with: redis-server --daemonize yes --port 6379 --save ''\n\n`
  if (process.env.CI === 'true') throw new Error(`Redis is required under CI=true. ${message}`)
  console.warn(message)
}

/** True where a Redis server answered; use with describe.runIf(redisAvailable). */
export const redisAvailable = failure === undefined

/** A key prefix unique to this test process and call. */
let counter = 0
export function uniquePrefix(name: string): string {
  counter += 1
  return `isr-test-${name}-${process.pid}-${Date.now().toString(36)}-${counter}`
}

/** A raw client with Buffer replies, for looking at what the cache stored. */
export async function rawClient() {
  const client = createClient({ url: REDIS_URL }).withTypeMapping({ 36: Buffer })
  client.on('error', () => {})
  await client.connect()
  return client
}

/** Deletes every key under a prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL })
  client.on('error', () => {})
  await client.connect()
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.unlink(keys)
    }
  } finally {
    await client.quit()
  }
}
