/**
 * Why a page lookup may wait for the end of its event-loop turn.
 *
 * Next's response cache (`next/dist/server/response-cache`) runs one handler lookup per page at a time and
 * hands its answer to every request for that page that arrives while the lookup is still in flight. A
 * lookup answered from memory (isr-cache's L1 tier, like Next's own memory cache) settles within the
 * microtasks of the request that started it, before the server reads the next request from its sockets:
 * nothing is ever shared, and every request pays for a lookup, Next's bookkeeping around it included. Held
 * until the event loop's check phase, the lookup is still in flight while the poll phase parses the
 * requests that arrived together with it, and those join it instead of starting their own.
 *
 * The wait is "until the end of the turn the lookup started in", not "one more turn": a lookup that went
 * to Redis (an L1 miss, a lease for a stale page) has crossed that point already and waits for nothing
 * more. On an idle server, a request is read in the poll phase and the check phase follows it in the same
 * pass of the event loop: the lookup waits for no other I/O.
 */

let turn: Promise<void> | undefined

/**
 * A promise that settles in the check phase of the current event-loop turn (`setImmediate`), shared by
 * every caller in that turn: one timer per turn however many lookups start in it.
 */
export function endOfTurn(): Promise<void> {
  turn ??= new Promise<void>((resolve) => {
    setImmediate(() => {
      turn = undefined
      resolve()
    })
  })
  return turn
}
