import type { NextServer } from './prepare.mjs'

export function compareHits(options: {
  server: NextServer
  /** A server per setup where they differ (default: `server` for all). */
  servers?: Partial<Record<'isrCache' | 'map' | 'uncached', NextServer>>
  /** Where each server reports its CPU time (`process.cpuUsage()` as JSON). Default `/__map/__cpu`. */
  cpuPath?: string
  paths: { isrCache: string; map: string; uncached: string }
  autocannon: unknown
  name: string
  duration: number
  connections: number
  rounds: number
  store: string
}): Promise<Record<string, unknown>>
