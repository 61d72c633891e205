/**
 * The acknowledgement bookkeeping (src/purge-acks.ts) against a simple reference, with fast-check: any
 * interleaving of the publish reply, the own copy coming back, acknowledgements (duplicated, from unknown
 * instances, for unknown or finished ids, late after the timeout) and timeouts. The model: a publication
 * settles as soon as distinct acknowledgers + own copy ≥ the publish reply, else at its timeout; what
 * happens after it settled changes nothing.
 */
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PurgeAcks, type PurgeResult } from '../src/purge-acks.js'
import { decodeAck, decodeMessage, encodeAck, encodeChange } from '../src/stores/change-message.js'

type Step =
  | { kind: 'published'; received: number; selfSubscribed: boolean }
  | { kind: 'self' }
  | { kind: 'ack'; from: string }
  | { kind: 'unknownId'; from: string }
  | { kind: 'timeout' }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('published' as const), received: fc.integer({ min: 0, max: 5 }), selfSubscribed: fc.boolean() }),
  fc.constant({ kind: 'self' as const }),
  fc.record({ kind: fc.constant('ack' as const), from: fc.constantFrom('a', 'b', 'c', 'd') }),
  fc.record({ kind: fc.constant('unknownId' as const), from: fc.constantFrom('a', 'b', 'x') }),
  fc.constant({ kind: 'timeout' as const }),
)

/** The reference: what the publication's result must be after these steps (undefined: still waiting). */
function model(steps: Step[]): PurgeResult | undefined {
  const from = new Set<string>()
  let self = false
  let received: number | undefined
  let selfSubscribed = true
  const result = (): PurgeResult =>
    received === undefined
      ? { acknowledged: from.size, live: undefined, complete: false }
      : { acknowledged: from.size, live: Math.max(from.size, received - (self || selfSubscribed ? 1 : 0)), complete: from.size + (self ? 1 : 0) >= received }
  for (const s of steps) {
    if (s.kind === 'timeout') return result()
    if (s.kind === 'published') {
      if (received !== undefined) continue // a transport replies once; later replies are ignored below too
      received = s.received
      selfSubscribed = s.selfSubscribed
    }
    if (s.kind === 'self') self = true
    if (s.kind === 'ack') from.add(s.from)
    if (received !== undefined && from.size + (self ? 1 : 0) >= received) return result()
  }
  return undefined
}

describe('PurgeAcks (acknowledgement bookkeeping)', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('settles exactly as the reference model, whatever arrives in whatever order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 20 }), async (steps) => {
        const acks = new PurgeAcks()
        const other = acks.begin(5000) // a second publication, with a later timeout: the steps of the first never touch it
        const { id, result } = acks.begin(1000)
        let settled: PurgeResult | undefined
        void result.then((value) => (settled = value))
        let replied = false
        for (const s of steps) {
          if (s.kind === 'published') {
            if (!replied) acks.published(id, s.received, s.selfSubscribed)
            replied = true
          } else if (s.kind === 'self') acks.selfReceived(id)
          else if (s.kind === 'ack') acks.acknowledged(id, s.from)
          else if (s.kind === 'unknownId') acks.acknowledged('999999', s.from)
          else {
            vi.advanceTimersByTime(1000)
            vi.advanceTimersByTime(1) // the bound settles in the check phase after it (setImmediate: a fake one runs on a tick)
          }
          await Promise.resolve()
          if (s.kind === 'timeout') break
        }
        await Promise.resolve()
        expect(settled).toEqual(model(steps))
        // Late acknowledgements after it settled change nothing, and the other publication still waits.
        if (settled !== undefined) {
          const before = settled
          acks.acknowledged(id, 'late')
          acks.published(id, 0, false)
          await Promise.resolve()
          expect(settled).toBe(before)
        }
        acks.published(other.id, 0, false)
        expect(await other.result).toEqual({ acknowledged: 0, live: 0, complete: true })
        acks.finishAll()
        expect(acks.waiting).toBe(0)
      }),
      { numRuns: 500 },
    )
  })

  it('a failed publish settles at once, incomplete, with what it had', async () => {
    const acks = new PurgeAcks()
    const { id, result } = acks.begin(60_000)
    acks.acknowledged(id, 'a')
    acks.failed(id)
    expect(await result).toEqual({ acknowledged: 1, live: undefined, complete: false })
  })

  it('closing settles every waiting publication with what it has', async () => {
    const acks = new PurgeAcks()
    const first = acks.begin(60_000)
    const second = acks.begin(60_000)
    acks.published(first.id, 3, true)
    acks.acknowledged(first.id, 'a')
    acks.finishAll()
    expect(await first.result).toEqual({ acknowledged: 1, live: 2, complete: false })
    expect(await second.result).toEqual({ acknowledged: 0, live: undefined, complete: false })
  })
})

describe('the acknowledged wire format', () => {
  it('round-trips changes with and without an ack id, and acks', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !s.includes('\n')),
        fc.oneof(fc.record({ type: fc.constantFrom('written' as const, 'deleted' as const), key: fc.string() }), fc.record({ type: fc.constant('purged' as const), tags: fc.array(fc.string()) })),
        fc.option(fc.integer({ min: 1, max: 1e12 }).map(String), { nil: undefined }),
        (from, change, ackId) => {
          expect(decodeMessage(encodeChange(from, change, ackId))).toEqual({ from, change, ackId })
          if (ackId !== undefined) expect(decodeAck(encodeAck(from, ackId))).toEqual({ from, ackId })
        },
      ),
    )
  })

  it('never throws on garbage, and calls an unreadable message garbled (the receiver then resyncs)', () => {
    fc.assert(
      fc.property(fc.string(), (message) => {
        const decoded = decodeMessage(message)
        expect(decoded === 'garbled' || typeof decoded.from === 'string').toBe(true)
        const ack = decodeAck(message)
        expect(ack === undefined || /^\d+$/.test(ack.ackId)).toBe(true)
      }),
    )
    expect(decodeMessage('id\nPabc\n[]')).toBe('garbled')
    expect(decodeMessage('id\nP12\nnot json')).toBe('garbled')
  })
})
