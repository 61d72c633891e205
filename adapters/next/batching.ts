/**
 * Why a page lookup may wait for the end of its event-loop turn, and when it does not.
 *
 * Next's response cache (`next/dist/server/response-cache`) runs one handler lookup per page at a time and
 * hands its answer to every request for that page that arrives while the lookup is still in flight. A
 * lookup answered from memory (isr-cache's L1 tier, like Next's own memory cache) settles within the
 * microtasks of the request that started it, before the server reads the next request from its sockets:
 * nothing is ever shared, and every request pays for a lookup, Next's bookkeeping around it included. Held
 * until the event loop's check phase, the lookup is still in flight while the poll phase parses the
 * requests that arrived together with it, and those join it instead of starting their own.
 *
 * Holding costs an idle server a little: the answer waits for the rest of the turn (timers, the check
 * phase) instead of going out at once. So a lookup is held only when requests are arriving together: when
 * another page lookup started earlier in the same turn, or when one of the last few turns that had page
 * lookups had more than one. "Few" because under load a turn often has a single lookup precisely because
 * batching worked (every other request of the turn joined it); forgetting the load after one such turn
 * would leave the next turn's first lookup unshared. A server answering one request at a time holds
 * nothing (after a burst, its first few lookups); the first turn of a burst shares from its second lookup on.
 *
 * The wait is "until the end of the turn the lookup started in", not "one more turn": a lookup that went
 * to Redis (an L1 miss, a lease for a stale page) has crossed that point already and waits for nothing
 * more.
 */

interface Turn {
  /** Page lookups started in this turn so far. */
  lookups: number
  /** Settles in this turn's check phase. */
  ended: Promise<void>
}

/** How many turns with a single page lookup it takes to decide that requests no longer arrive together. */
export const QUIET_TURNS = 8

let current: Turn | undefined
/** Turns with page lookups still to come before requests count as arriving one at a time (0: they do). */
let together = 0

function startTurn(): Turn {
  let end!: () => void
  const turn: Turn = { lookups: 0, ended: new Promise<void>((resolve) => (end = resolve)) }
  setImmediate(() => {
    together = turn.lookups > 1 ? QUIET_TURNS : Math.max(0, together - 1)
    current = undefined
    end()
  })
  return turn
}

/**
 * Counts a page lookup in the current event-loop turn. Returns the promise to hold its answer until (the
 * end of the turn, shared by every lookup held in it: one timer per turn), or undefined when the answer
 * should go out at once because nothing suggests other requests are arriving with it.
 */
export function pageLookupHold(): Promise<void> | undefined {
  const turn = (current ??= startTurn())
  turn.lookups++
  return together > 0 || turn.lookups > 1 ? turn.ended : undefined
}

/** For tests: forget what earlier turns saw (the next lone lookup is answered at once). */
export function resetBatching(): void {
  together = 0
}
