/**
 * The Astro example's steps, on the shared example tooling (examples/next/tooling/prepare.mjs): pack this
 * checkout, install the tarball, `astro build` (skipped when its inputs did not change), and start
 * `node dist/server/entry.mjs` (@astrojs/node standalone) instances. Also the Astro 7 fixture
 * (examples/astro7), built and run with Node 24 from the npm `node` package (Astro 7 needs Node >= 22.12).
 * Used by run.mjs, bench.mjs and test/astro.e2e.test.ts.
 */
import { existsSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { buildExample, exampleDirs, installExample, packLibrary, repoRoot, run, startServer } from '../../next/tooling/prepare.mjs'

export const appDir = exampleDirs.astro
export const astro7Dir = join(repoRoot, 'examples', 'astro7')
/**
 * Node 24 from the npm `node` package, installed into the fixture's own node24/ (as examples/sveltekit3
 * does: not shared with it, because the two suites run in parallel and would install into one directory at once).
 */
const node24Dir = join(astro7Dir, 'node24')
export const node24 = join(node24Dir, 'node_modules', 'node', 'bin', 'node')
/** Node 24's bin directory first on PATH: npm and the build then run under it. */
const node24Env = () => ({ PATH: `${dirname(node24)}${delimiter}${process.env.PATH ?? ''}` })

/** The astro CLI of an installed app (Astro 5: astro.js; Astro 7: bin/astro.mjs). */
const astroCli = (dir) => [join(dir, 'node_modules', 'astro', 'bin', 'astro.mjs'), join(dir, 'node_modules', 'astro', 'astro.js')].find((path) => existsSync(path))
/** `astro build` writes <output>/server/entry.mjs; telemetry off (no network here, nor in CI). */
const astroBuild = (dir, node, output = 'dist') => ({ node, script: astroCli(dir), args: ['build'], output, done: join('server', 'entry.mjs') })
const quiet = { ASTRO_TELEMETRY_DISABLED: '1' }

/** Pack, install, build the Astro 5 example. `env` reaches the build. */
export async function prepareAstro({ log, echo = false, env } = {}) {
  const library = await packLibrary({ log })
  const install = await installExample(appDir, library, { log, echo, sentinel: 'astro' })
  const build = await buildExample(appDir, library, { log, echo, env: { ...quiet, ...env }, command: astroBuild(appDir) })
  return { library, install, build }
}

/**
 * `node dist/server/entry.mjs` on 127.0.0.1:<port> (@astrojs/node reads HOST and PORT); resolves once it
 * listens.
 */
export function startAstro({ port, env = {}, name = 'astro', log, echo = false }) {
  return startServer(appDir, {
    args: [join('dist', 'server', 'entry.mjs')],
    port,
    ready: /Server listening on/,
    name,
    log,
    echo,
    env: { NODE_ENV: 'production', ...quiet, ...env, HOST: '127.0.0.1', PORT: String(port) },
  })
}

/** Where the Astro 7 fixture is built: `cache` 'isr' (isrCacheProvider(), the default) or 'memory' (Astro's memoryCache()). */
const astro7Output = (cache) => (cache === 'memory' ? 'dist-memory' : 'dist')

/** Node 24 (once), pack, install and build the Astro 7 fixture with it, on isr-cache or (`cache: 'memory'`) Astro's memoryCache(). */
export async function prepareAstro7({ log, env, cache = 'isr' } = {}) {
  if (!existsSync(node24)) await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: node24Dir, log })
  const library = await packLibrary({ log })
  const install = await installExample(astro7Dir, library, { log, sentinel: 'astro', env: node24Env() })
  const build = await buildExample(astro7Dir, library, {
    log,
    env: { ...quiet, ...env, ...node24Env(), FIXTURE_CACHE: cache },
    command: astroBuild(astro7Dir, node24, astro7Output(cache)),
  })
  return { library, install, build }
}

/** The Astro 7 fixture's server under Node 24 (the build `cache` names). */
export function startAstro7({ port, env = {}, name = 'astro7', log, cache = 'isr' }) {
  return startServer(astro7Dir, {
    node: node24,
    args: [join(astro7Output(cache), 'server', 'entry.mjs')],
    port,
    ready: /Server listening on/,
    name,
    log,
    env: { NODE_ENV: 'production', ...quiet, ...env, ...node24Env(), HOST: '127.0.0.1', PORT: String(port) },
  })
}
