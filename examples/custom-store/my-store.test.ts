import { describe, it, expect } from 'vitest'
import { Keyv } from 'keyv'
import { createIsrCache } from 'isr-cache'
import { runStoreConformance } from 'isr-cache/testing'
import { MyStore } from './my-store.js'

describe('MyStore', () => {
  // One backend for the whole suite: with `shared: true`, two caches on stores from createStore() must see
  // each other's data, so createStore() hands out the same MyStore (a new one per call would not be shared).
  const store = new MyStore()
  runStoreConformance({
    it,
    expect,
    createStore: () => new Keyv({ store }),
    capabilities: {
      followsInjectedClock: false, // true only if expiry is checked by isr-cache, not by the store's clock
      shared: true,                // two stores from createStore() see the same data
    },
  })

  it('works as a store directly, or inside a Keyv', async () => {
    for (const cache of [createIsrCache({ store: new MyStore() }), createIsrCache({ store: new Keyv({ store: new MyStore() }) })]) {
      await cache.set('page', '<h1>hi</h1>')
      expect((await cache.get('page'))?.value).toBe('<h1>hi</h1>')
      await cache.close()
    }
  })
})
