import type { Log } from './prepare.mjs'

export interface Node24 {
  readonly node: string
  env(): { PATH: string }
  install(options?: { log?: Log }): Promise<void>
}
export function node24Of(fixtureDir: string): Node24
