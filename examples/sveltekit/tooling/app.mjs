/**
 * The SvelteKit example's steps, on the shared example tooling (examples/next/tooling/prepare.mjs): pack
 * this checkout, install the tarball, `vite build` (skipped when its inputs did not change), and start
 * `node build` (adapter-node) instances. Used by run.mjs, bench.mjs and test/sveltekit.e2e.test.ts.
 */
import { join } from 'node:path'
import { buildExample, exampleDirs, installExample, packLibrary, startServer } from '../../next/tooling/prepare.mjs'

export const appDir = exampleDirs.sveltekit

/** Pack, install, build. `env` reaches the build. */
export async function prepareSvelteKit({ log, echo = false, env } = {}) {
  const library = await packLibrary({ log })
  const install = await installExample(appDir, library, { log, echo, sentinel: '@sveltejs/kit' })
  const build = await buildExample(appDir, library, {
    log,
    echo,
    env,
    command: { script: join(appDir, 'node_modules', 'vite', 'bin', 'vite.js'), args: ['build'], output: 'build', done: 'index.js' },
  })
  return { library, install, build }
}

/**
 * `node build` on 127.0.0.1:<port> (adapter-node reads HOST and PORT); resolves once it listens. ORIGIN
 * (default http://127.0.0.1:<port>) is the app's public origin: without it adapter-node assumes https, and
 * Kit's CSRF check then refuses the form actions of a plain-http page.
 */
export function startSvelteKit({ port, env = {}, name = 'sveltekit', log, echo = false }) {
  return startServer(appDir, {
    args: ['build'],
    port,
    ready: /Listening on/,
    name,
    log,
    echo,
    env: { NODE_ENV: 'production', ORIGIN: `http://127.0.0.1:${port}`, ...env, HOST: '127.0.0.1', PORT: String(port) },
  })
}
