import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Keyv } from 'keyv'
import KeyvSqlite from '@keyv/sqlite'
import { afterAll, describe, expect, it } from 'vitest'
import { runStoreConformance } from '../src/testing.js'
import { FileStore } from './support/file-store.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'

const dir = mkdtempSync(join(tmpdir(), 'isr-conformance-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('memory store', () => {
  runStoreConformance({ it, expect, createStore: () => 'memory://', capabilities: { followsInjectedClock: true, shared: false } })
})

describe('SQLite store on a real file (sqlite:// URL)', () => {
  runStoreConformance({ it, expect, createStore: () => `sqlite://${join(dir, 'url.sqlite')}`, capabilities: { followsInjectedClock: true } })
})

describe('SQLite store passed as a Keyv instance', () => {
  runStoreConformance({
    it,
    expect,
    createStore: () => new Keyv({ store: new KeyvSqlite(`sqlite://${join(dir, 'keyv.sqlite')}`) }),
    capabilities: { followsInjectedClock: true },
  })
})

describe.runIf(redisAvailable)('Redis store on the real server', () => {
  const keyPrefix = uniquePrefix('conformance')
  afterAll(() => dropPrefix(keyPrefix))
  runStoreConformance({ it, expect, createStore: () => REDIS_URL, keyPrefix })
})

describe('a custom keyv store (one file per key), through the generic driver', () => {
  const storeDir = join(dir, 'files')
  runStoreConformance({ it, expect, createStore: () => new Keyv({ store: new FileStore(storeDir) }) })
})

describe('a plain Map, through the generic driver', () => {
  const map = new Map()
  runStoreConformance({ it, expect, createStore: () => map })
})

