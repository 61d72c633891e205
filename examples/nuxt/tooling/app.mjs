/**
 * The Nuxt example's steps, on the shared example tooling (examples/next/tooling/prepare.mjs): pack this
 * checkout, install the tarball, `nuxt build` (skipped when its inputs did not change), and start
 * `node .output/server/index.mjs` instances. Used by run.mjs, bench.mjs and test/nuxt.e2e.test.ts, for
 * examples/nuxt (Nuxt 4.4, Node 20) and the Nuxt 4.5 fixture (examples/nuxt45, Node 24, the same app).
 */
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { node24Of } from '../../next/tooling/node24.mjs'
import { buildExample, installExample, packLibrary, repoRoot, startServer } from '../../next/tooling/prepare.mjs'

export const appDir = join(repoRoot, 'examples', 'nuxt')
/** The minimal plain Nitro 2 fixture (isr-cache/nitro). */
export const nitroDir = join(repoRoot, 'examples', 'nitro')
/** The Nuxt 4.5 fixture (Nuxt 4.5 needs Node ^22.19 or ^24.11): installed, built and run with Node 24 from the npm `node` package. */
export const nuxt45Dir = join(repoRoot, 'examples', 'nuxt45')
const node24 = node24Of(nuxt45Dir)
export const nuxt45Node = node24.node

/** What the Nuxt 4.5 fixture takes from the Nuxt 4.4 example: the whole app, unchanged. */
const SHARED_SOURCES = ['nuxt.config.ts', 'app', 'server']

/**
 * The Nuxt 4.5 fixture runs the Nuxt 4.4 example's own app: its `nuxt.config.ts`, `app/` and `server/`
 * are written to examples/nuxt45 (not committed) before each build, unchanged (Nuxt 4.5 reads the same
 * files), so the two versions run the same routes and the same end-to-end scenarios.
 */
export function writeNuxt45Sources() {
  for (const name of SHARED_SOURCES) {
    const to = join(nuxt45Dir, name)
    rmSync(to, { recursive: true, force: true })
    cpSync(join(appDir, name), to, { recursive: true })
  }
}

/** Pack, install and `nuxt build` the Nuxt app in `dir`; `node` and `env` (PATH) pick the Node it runs under. */
async function prepareNuxtApp(dir, { log, echo = false, env = {}, node }) {
  const library = await packLibrary({ log })
  const install = await installExample(dir, library, { log, echo, sentinel: 'nuxt', env })
  const build = await buildExample(dir, library, {
    log,
    echo,
    env: { NUXT_TELEMETRY_DISABLED: '1', ...env },
    command: { node, script: join(dir, 'node_modules', 'nuxt', 'bin', 'nuxt.mjs'), args: ['build'], output: '.output', done: join('server', 'index.mjs') },
  })
  return { library, install, build }
}

/** `node .output/server/index.mjs` in `dir` on 127.0.0.1:<port> (Nitro reads HOST and PORT); resolves once it listens. */
function startNitroServer(dir, { port, env = {}, name, log, echo = false, node, pathEnv = {} }) {
  return startServer(dir, {
    node,
    args: [join('.output', 'server', 'index.mjs')],
    port,
    ready: /Listening on/,
    name,
    log,
    echo,
    env: { NODE_ENV: 'production', ...env, ...pathEnv, HOST: '127.0.0.1', PORT: String(port) },
  })
}

/** Pack, install, build. */
export function prepareNuxt({ log, echo = false } = {}) {
  return prepareNuxtApp(appDir, { log, echo })
}

/** The example's server (Nuxt 4.4, this Node). */
export function startNuxt({ port, env = {}, name = 'nuxt', log, echo = false }) {
  return startNitroServer(appDir, { port, env, name, log, echo })
}

/** Node 24 (once), the fixture's sources, pack, install and build the Nuxt 4.5 fixture with it. */
export async function prepareNuxt45({ log } = {}) {
  await node24.install({ log })
  writeNuxt45Sources()
  return prepareNuxtApp(nuxt45Dir, { log, env: node24.env(), node: node24.node })
}

/** The Nuxt 4.5 fixture's server under Node 24. */
export function startNuxt45({ port, env = {}, name = 'nuxt45', log }) {
  return startNitroServer(nuxt45Dir, { port, env, name, log, node: node24.node, pathEnv: node24.env() })
}

/** The minimal plain Nitro 3 fixture (isr-cache/nitro on Nitro 3 beta, h3 v2). */
export const nitro3Dir = join(repoRoot, 'examples', 'nitro3')

/** Pack, install and `nitro build` a plain Nitro app: `cli` is its CLI, under node_modules/`sentinel`. */
async function prepareNitroApp(dir, sentinel, cli, { log }) {
  const library = await packLibrary({ log })
  const install = await installExample(dir, library, { log, sentinel })
  const build = await buildExample(dir, library, {
    log,
    command: { script: join(dir, 'node_modules', sentinel, ...cli), args: ['build'], output: '.output', done: join('server', 'index.mjs') },
  })
  return { library, install, build }
}

/** Pack, install and `nitro build` the plain Nitro 2 fixture. */
export function prepareNitro({ log } = {}) {
  return prepareNitroApp(nitroDir, 'nitropack', ['dist', 'cli', 'index.mjs'], { log })
}

/** `node .output/server/index.mjs` of the plain Nitro 2 fixture. */
export function startNitro({ port, env = {}, name = 'nitro', log }) {
  return startNitroServer(nitroDir, { port, env, name, log })
}

/** Pack, install and `nitro build` the plain Nitro 3 fixture. */
export function prepareNitro3({ log } = {}) {
  return prepareNitroApp(nitro3Dir, 'nitro', ['dist', 'cli', 'index.mjs'], { log })
}

/**
 * `node .output/server/index.mjs` of the plain Nitro 3 fixture. Without TEST (which vitest sets): Nitro 3's
 * server (srvx) stays silent under it, and its "Listening on" line is how start-up is seen.
 */
export function startNitro3({ port, env = {}, name = 'nitro3', log }) {
  return startNitroServer(nitro3Dir, { port, env: { ...env, TEST: undefined }, name, log })
}
