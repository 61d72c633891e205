/**
 * Two instances, one store, a lossy bus. fast-check decides what each instance does, which bus messages
 * are delivered, late or lost, and how the clock moves. Whatever happens, once both instances have been
 * left alone for longer than the bound (l1MaxAge = tagCacheTtl), each answers exactly as a reader with no
 * local state at all would: a lost message costs at most the bound, never lasting staleness.
 */
import fc from 'fast-check'
import { Keyv } from 'keyv'
import { describe, expect, it } from 'vitest'
import { createIsrCache, type IsrCache, type IsrCacheBus } from '../src/index.js'

const BOUND_MS = 1000
const KEYS = ['a', 'b'] as const
const TAGS = ['t1', 't2'] as const

/** A bus whose deliveries the test controls: messages queue until delivered or dropped. */
class LossyBus {
  readonly queues = new Map<number, string[]>()
  readonly listeners = new Map<number, (message: string) => void>()
  lostHandlers = new Map<number, () => void>()
  endpoint(id: number): IsrCacheBus {
    this.queues.set(id, [])
    return {
      publish: (message) => {
        for (const [other, queue] of this.queues) if (other !== id) queue.push(message)
      },
      subscribe: (onMessage, onLost) => {
        this.listeners.set(id, onMessage)
        this.lostHandlers.set(id, onLost)
        return () => {
          this.listeners.delete(id)
        }
      },
    }
  }
  /** Delivers (true) or drops (false) the oldest queued message of an instance. */
  step(id: number, deliver: boolean): void {
    const message = this.queues.get(id)?.shift()
    if (message !== undefined && deliver) this.listeners.get(id)?.(message)
  }
}

interface World {
  clock: { time: number }
  instances: [IsrCache, IsrCache]
  truth: IsrCache
  bus: LossyBus
}

type Cmd = fc.AsyncCommand<object, World>
const instance = fc.constantFrom(0 as const, 1 as const)

const commands = [
  fc.record({ who: instance, key: fc.constantFrom(...KEYS), value: fc.integer(), tags: fc.subarray([...TAGS]) }).map(
    ({ who, key, value, tags }): Cmd => ({
      check: () => true,
      run: async (_, w) => {
        await w.instances[who].set(key, value, { tags })
      },
      toString: () => `#${who}.set(${key}, ${value}, [${tags}])`,
    }),
  ),
  fc.record({ who: instance, tags: fc.subarray([...TAGS], { minLength: 1 }), soft: fc.boolean() }).map(
    ({ who, tags, soft }): Cmd => ({
      check: () => true,
      run: async (_, w) => {
        await w.instances[who].revalidateTag(tags, soft ? { expire: 5 } : {})
      },
      toString: () => `#${who}.revalidateTag([${tags}], ${soft ? 'soft' : 'hard'})`,
    }),
  ),
  fc.record({ who: instance, key: fc.constantFrom(...KEYS) }).map(
    ({ who, key }): Cmd => ({
      check: () => true,
      run: async (_, w) => {
        await w.instances[who].get(key) // fills L1 and the tag cache: the local state that can go stale
      },
      toString: () => `#${who}.get(${key})`,
    }),
  ),
  fc.record({ who: instance, deliver: fc.boolean() }).map(
    ({ who, deliver }): Cmd => ({
      check: () => true,
      run: async (_, w) => w.bus.step(who, deliver),
      toString: () => `bus → #${who}: ${deliver ? 'deliver' : 'drop'}`,
    }),
  ),
  fc.integer({ min: 1, max: BOUND_MS / 2 }).map(
    (ms): Cmd => ({
      check: () => true,
      run: async (_, w) => {
        w.clock.time += ms
      },
      toString: () => `advance(${ms} ms)`,
    }),
  ),
  fc.constant<Cmd>({
    check: () => true,
    // Left alone past the bound (messages still undelivered may arrive late or never): both must agree
    // with a stateless reader.
    run: async (_, w) => {
      w.clock.time += BOUND_MS + 1
      for (const key of KEYS) {
        const truth = await w.truth.get(key)
        for (const cache of w.instances) {
          const seen = await cache.get(key)
          expect({ key, status: seen?.status, value: seen?.value }).toEqual({ key, status: truth?.status, value: truth?.value })
        }
      }
    },
    toString: () => `wait past the bound and compare`,
  }),
]

describe('two instances with a lossy bus', () => {
  it('converge on the store within the bound, whatever the bus loses', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60 }), async (cmds) => {
        const map = new Map()
        const clock = { time: 1_800_000_000_000 }
        const bus = new LossyBus()
        const options = { now: () => clock.time, l1MaxAge: BOUND_MS / 1000, tagCacheTtl: BOUND_MS / 1000, onError: () => {} }
        const instances: [IsrCache, IsrCache] = [
          createIsrCache({ ...options, store: new Keyv({ store: map }), bus: bus.endpoint(0) }),
          createIsrCache({ ...options, store: new Keyv({ store: map }), bus: bus.endpoint(1) }),
        ]
        const truth = createIsrCache({ now: () => clock.time, store: new Keyv({ store: map }), l1: false, tagCacheTtl: 0 })
        try {
          await fc.asyncModelRun(() => ({ model: {}, real: { clock, instances, truth, bus } }), cmds)
        } finally {
          await Promise.all([...instances, truth].map((cache) => cache.close()))
        }
      }),
      { numRuns: 200 },
    )
  })

  it('with every message delivered, see each other\'s writes and purges at once (no waiting for the bound)', async () => {
    const map = new Map()
    const clock = { time: 1_800_000_000_000 }
    const bus = new LossyBus()
    const options = { now: () => clock.time, l1MaxAge: 3600, tagCacheTtl: 3600 }
    const a = createIsrCache({ ...options, store: new Keyv({ store: map }), bus: bus.endpoint(0) })
    const b = createIsrCache({ ...options, store: new Keyv({ store: map }), bus: bus.endpoint(1) })
    const flush = () => {
      for (const id of [0, 1]) while ((bus.queues.get(id)?.length ?? 0) > 0) bus.step(id, true)
    }
    await a.set('k', 1, { tags: ['t'] })
    expect((await b.get('k'))?.value).toBe(1) // b now holds it in L1 for an hour
    await a.set('k', 2, { tags: ['t'] })
    flush()
    expect((await b.get('k'))?.value).toBe(2)
    clock.time += 1
    await a.revalidateTag('t')
    flush()
    expect(await b.get('k')).toBeUndefined()
    expect(b.stats().l1Hits).toBeGreaterThan(0)
    await a.close()
    await b.close()
  })
})
