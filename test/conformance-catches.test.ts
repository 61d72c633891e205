/**
 * The conformance suite must catch a broken store, in several places, with messages that name the
 * capability at fault. Here it runs against deliberately broken stores through a collecting `it`, and the
 * failures are counted and read.
 */
import { Keyv } from 'keyv'
import { describe, expect, it } from 'vitest'
import { runStoreConformance, type ConformanceOptions } from '../src/testing.js'
import { MyStore } from '../examples/custom-store/my-store.js'

/** Runs every test the suite registers; resolves the failures' messages by test name. */
async function failuresOf(options: Omit<ConformanceOptions, 'it' | 'expect'>): Promise<{ total: number; failures: Map<string, string> }> {
  const tests: Array<[string, () => Promise<void>]> = []
  runStoreConformance({ ...options, it: (name, fn) => tests.push([name, fn]), expect: expect as ConformanceOptions['expect'] })
  const failures = new Map<string, string>()
  for (const [name, fn] of tests) {
    try {
      await fn()
    } catch (error) {
      failures.set(name, (error as Error).message)
    }
  }
  return { total: tests.length, failures }
}

/** A keyv store that keeps the first value written to a key and ignores every later write to it. */
class NeverOverwrites extends MyStore {
  override async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    if ((await this.get(key)) !== undefined) return true
    return super.set(key, value, ttl)
  }
}

describe('the conformance suite catches', () => {
  it('a store that ignores writes to existing keys, in several tests, naming set()', async () => {
    const store = new NeverOverwrites()
    const { total, failures } = await failuresOf({ createStore: () => new Keyv({ store }) })
    console.log(`[conformance] a store that never overwrites: ${failures.size} of ${total} tests fail:\n  ${[...failures.keys()].join('\n  ')}`)
    expect(failures.size).toBeGreaterThanOrEqual(4)
    const naming = [...failures.values()].filter((message) => message.includes('must replace a value already stored under that key'))
    expect(naming.length).toBeGreaterThanOrEqual(4)
    for (const message of naming) expect(message).toMatch(/^\[isr-cache conformance\] /)
  })

  it('createStore() making a new in-process backend per call while shared is claimed, saying what to do', async () => {
    const { failures } = await failuresOf({ createStore: () => new Keyv({ store: new MyStore() }) })
    expect(failures.size).toBeGreaterThanOrEqual(1)
    const messages = [...failures.values()]
    expect(messages.length).toBeGreaterThan(0)
    for (const message of messages) {
      expect(message).toMatch(/createStore\(\) must return the same backend each time.*capabilities\.shared: false|capabilities: \{ shared: false \}/)
    }
  })

  it('nothing in a correct store (the same store, created once)', async () => {
    const store = new MyStore()
    const { failures } = await failuresOf({ createStore: () => new Keyv({ store }) })
    expect([...failures.entries()]).toEqual([])
  })
})
