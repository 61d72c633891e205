/**
 * examples/demo/README.md's curl recipe, run as written: the demo started as its first block says (in a
 * fresh directory, on a free port instead of 3000), the second block run by bash, and its output compared
 * with the documented output line by line. Times differ from run to run; which lines share a time is
 * compared instead.
 *
 * One liberty: the recipe's `sleep N` ("wait a moment") is a bash function here that sleeps N s and then
 * also waits (bounded) until the demo has no regeneration running (`inflight` in /stats), so a slow machine
 * does not turn "the new copy" into a second STALE. What each step prints is not changed.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from './support/redis-server.js'

const root = join(import.meta.dirname, '..')
const readme = readFileSync(join(root, 'examples/demo/README.md'), 'utf8')
const section = readme.slice(readme.indexOf('## curl'))
const shell = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!)
const expected = /```text\n([\s\S]*?)```/.exec(section)![1]!.trimEnd().split('\n')
const [startBlock, recipe] = shell as [string, string]

let demo: ChildProcess | undefined
let dir = ''
let port = 0

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isr-demo-'))
  port = await freePort()
  // The documented start: `rm -rf .isr-cache && PORT=3000 DEMO_REVALIDATE=2 npm run demo` (npm run demo is
  // `npm run build && node examples/demo/server.mjs`; npm test has built dist/ already).
  expect(startBlock.trim()).toBe('rm -rf .isr-cache && PORT=3000 DEMO_REVALIDATE=2 npm run demo')
  demo = spawn(process.execPath, [join(root, 'examples/demo/server.mjs')], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), DEMO_REVALIDATE: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    demo!.stdout!.on('data', (data: Buffer) => {
      output += data.toString()
      if (output.includes('isr-cache demo on http://127.0.0.1:')) resolve()
    })
    demo!.stderr!.on('data', (data: Buffer) => (output += data.toString()))
    demo!.once('exit', (code) => reject(new Error(`the demo exited (${code}) before listening:\n${output}`)))
  })
}, 30_000)

afterAll(async () => {
  if (demo?.exitCode === null) {
    const exited = new Promise((resolve) => demo!.once('exit', resolve))
    demo.kill('SIGTERM')
    await exited
  }
  rmSync(dir, { recursive: true, force: true })
})

describe('the demo README curl recipe', () => {
  it('prints the documented output', { timeout: 60_000 }, async () => {
    const settle = `sleep() { command sleep "$@"; for _ in $(seq 1 100); do curl -s "$URL/stats" | grep -q '"inflight": 0' && return; command sleep 0.1; done; }`
    const script = recipe.replace('URL=http://127.0.0.1:3000', `URL=http://127.0.0.1:${port}\n${settle}`)
    expect(script).not.toContain(':3000')
    const { stdout } = await promisify(execFile)('bash', ['-c', script], { timeout: 50_000 })
    const actual = stdout.trimEnd().split('\n')
    const shape = (lines: string[]) => lines.map((line) => line.replace(/^(x-generated-at: ).*$/, '$1<time>'))
    expect(shape(actual)).toEqual(shape(expected))
    // Which lines carry the same generation time, in order of first appearance.
    const groups = (lines: string[]) => {
      const seen = new Map<string, number>()
      return lines.filter((line) => line.startsWith('x-generated-at:')).map((line) => seen.get(line) ?? seen.set(line, seen.size).get(line))
    }
    expect(groups(actual)).toEqual(groups(expected))
  })
})
