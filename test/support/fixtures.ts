/**
 * How the end-to-end suites prepare an example app or fixture: pack, install and build once per test
 * process (each step is itself skipped while its inputs are unchanged), however many `describe` blocks
 * use it, with one line saying what it cost (the figure CI time is read from).
 */
import type { StepResult } from '../../examples/next/tooling/prepare.mjs'

/** `step` run at most once; every call gets its one promise. */
export function preparedOnce(title: string, step: () => Promise<{ install: StepResult; build: StepResult }>, log: (line: string) => void): () => Promise<unknown> {
  let prepared: Promise<unknown> | undefined
  return () => {
    prepared ??= (async () => {
      const started = performance.now()
      const result = await step()
      const part = (name: string, done: StepResult) => `${name} ${done.ran ? `${done.ms} ms` : 'reused'}`
      log(`${title} prepared in ${Math.round(performance.now() - started)} ms (${part('install', result.install)}, ${part('build', result.build)})`)
    })()
    return prepared
  }
}
