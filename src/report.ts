/** The default error sink: one concise line per kind of failure per minute, with a count of the rest. */
import type { IsrCacheError } from './errors.js'

const QUIET_MS = 60_000

export function createDefaultReporter(log: (line: string) => void = (line) => console.warn(line)): (error: IsrCacheError) => void {
  const kinds = new Map<string, { loggedAt: number; suppressed: number }>()
  return (error) => {
    const now = Date.now()
    const kind = kinds.get(error.code)
    if (kind !== undefined && now - kind.loggedAt < QUIET_MS) {
      kind.suppressed += 1
      return
    }
    const more = kind?.suppressed ? ` (+${kind.suppressed} more of ${error.code} in the last minute)` : ''
    // Most messages already quote their cause; add it only where it would otherwise be lost.
    const cause = error.cause instanceof Error && !error.message.includes(error.cause.message.replace(/\.+$/, '')) ? `: ${error.cause.message}` : ''
    log(`${error.message}${cause}${more}`)
    kinds.set(error.code, { loggedAt: now, suppressed: 0 })
  }
}
