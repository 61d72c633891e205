import type { NextServer } from './prepare.mjs'

export function compareHits(options: {
  server: NextServer
  paths: { isrCache: string; map: string; uncached: string }
  autocannon: unknown
  name: string
  duration: number
  connections: number
  rounds: number
  store: string
}): Promise<Record<string, unknown>>
