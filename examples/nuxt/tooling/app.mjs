/**
 * The Nuxt example's steps, on the shared example tooling (examples/next/tooling/prepare.mjs): pack this
 * checkout, install the tarball, `nuxt build` (skipped when its inputs did not change), and start
 * `node .output/server/index.mjs` instances. Used by run.mjs, bench.mjs and test/nuxt.e2e.test.ts.
 */
import { join } from 'node:path'
import { buildExample, installExample, packLibrary, repoRoot, startServer } from '../../next/tooling/prepare.mjs'

export const appDir = join(repoRoot, 'examples', 'nuxt')
/** The minimal plain Nitro 2 fixture (isr-cache/nitro). */
export const nitroDir = join(repoRoot, 'examples', 'nitro')

/** Pack, install, build. */
export async function prepareNuxt({ log, echo = false } = {}) {
  const library = await packLibrary({ log })
  const install = await installExample(appDir, library, { log, echo, sentinel: 'nuxt' })
  const build = await buildExample(appDir, library, {
    log,
    echo,
    env: { NUXT_TELEMETRY_DISABLED: '1' },
    command: { script: join(appDir, 'node_modules', 'nuxt', 'bin', 'nuxt.mjs'), args: ['build'], output: '.output', done: join('server', 'index.mjs') },
  })
  return { library, install, build }
}

/** `node .output/server/index.mjs` on 127.0.0.1:<port> (Nitro reads HOST and PORT); resolves once it listens. */
export function startNuxt({ port, env = {}, name = 'nuxt', log, echo = false }) {
  return startServer(appDir, {
    args: [join('.output', 'server', 'index.mjs')],
    port,
    ready: /Listening on/,
    name,
    log,
    echo,
    env: { NODE_ENV: 'production', ...env, HOST: '127.0.0.1', PORT: String(port) },
  })
}

/** Pack, install and `nitro build` the plain Nitro fixture. */
export async function prepareNitro({ log } = {}) {
  const library = await packLibrary({ log })
  const install = await installExample(nitroDir, library, { log, sentinel: 'nitropack' })
  const build = await buildExample(nitroDir, library, {
    log,
    command: { script: join(nitroDir, 'node_modules', 'nitropack', 'dist', 'cli', 'index.mjs'), args: ['build'], output: '.output', done: join('server', 'index.mjs') },
  })
  return { library, install, build }
}

/** `node .output/server/index.mjs` of the plain Nitro fixture. */
export function startNitro({ port, env = {}, name = 'nitro', log }) {
  return startServer(nitroDir, {
    args: [join('.output', 'server', 'index.mjs')],
    port,
    ready: /Listening on/,
    name,
    log,
    env: { NODE_ENV: 'production', ...env, HOST: '127.0.0.1', PORT: String(port) },
  })
}
