/**
 * Node 24 for a fixture of a framework major that needs it: the npm `node` package installed into the
 * fixture's own `node24/` folder (one per fixture, so suites running in parallel never install into one
 * directory at once). Its bin directory goes first on PATH for that fixture's install, build and server,
 * so npm and the framework's CLI run under Node 24 while the test runner stays on the repository's Node.
 */
import { existsSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { run } from './prepare.mjs'

/** Node 24 of the fixture in `fixtureDir` (its `node24/package.json` pins the version). */
export function node24Of(fixtureDir) {
  const dir = join(fixtureDir, 'node24')
  const node = join(dir, 'node_modules', 'node', 'bin', 'node')
  return {
    /** The Node 24 binary. */
    node,
    /** Environment with Node 24's bin directory first on PATH. */
    env: () => ({ PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` }),
    /** Installs it, once (about 7 s). */
    async install({ log } = {}) {
      if (!existsSync(node)) await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, log })
    },
  }
}
