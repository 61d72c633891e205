/**
 * The SvelteKit example's steps, on the shared example tooling (examples/next/tooling/prepare.mjs): pack
 * this checkout, install the tarball, `vite build` (skipped when its inputs did not change), and start
 * `node build` (adapter-node) instances. Used by run.mjs, bench.mjs and test/sveltekit.e2e.test.ts.
 */
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { buildExample, exampleDirs, installExample, packLibrary, repoRoot, run, startServer } from '../../next/tooling/prepare.mjs'

export const appDir = exampleDirs.sveltekit
/** The Kit 3 fixture (Kit 3 needs Node >= 22.17): installed, built and run with Node 24 from the npm `node` package. */
export const kit3Dir = join(repoRoot, 'examples', 'sveltekit3')
const node24Dir = join(kit3Dir, 'node24')
export const node24 = join(node24Dir, 'node_modules', 'node', 'bin', 'node')
/** Node 24's bin directory first on PATH: npm and the build then run under it. */
const node24Env = () => ({ PATH: `${dirname(node24)}${delimiter}${process.env.PATH ?? ''}` })

/**
 * The Kit 3 fixture runs the Kit 2 example's own app (`examples/sveltekit/src`), changed only where Kit 3
 * requires it: `$lib` is gone, so `$lib/…` imports become Node subpath imports (`#lib/…`, mapped in the
 * fixture's package.json). Written to examples/sveltekit3/src (not committed) before each build, so the two
 * majors run the same routes and the same end-to-end scenarios.
 */
export function writeKit3Sources() {
  const from = join(appDir, 'src')
  const to = join(kit3Dir, 'src')
  rmSync(to, { recursive: true, force: true })
  cpSync(from, to, { recursive: true })
  const rewrite = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) rewrite(path)
      else if (/\.(ts|js|svelte)$/.test(entry.name)) {
        const text = readFileSync(path, 'utf8')
        // Subpath imports name the file: a TypeScript module gets its extension.
        const changed = text.replace(/(['"])\$lib\/([^'"]+)\1/g, (_, quote, rest) => `${quote}#lib/${existsSync(join(to, 'lib', `${rest}.ts`)) ? `${rest}.ts` : rest}${quote}`)
        if (changed !== text) writeFileSync(path, changed)
      }
    }
  }
  rewrite(to)
}

/** Node 24 (once), the fixture's sources, pack, install and build the Kit 3 fixture with it. */
export async function prepareSvelteKit3({ log } = {}) {
  if (!existsSync(node24)) await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: node24Dir, log })
  writeKit3Sources()
  const library = await packLibrary({ log })
  const install = await installExample(kit3Dir, library, { log, sentinel: '@sveltejs/kit', env: node24Env() })
  const build = await buildExample(kit3Dir, library, {
    log,
    env: node24Env(),
    command: { node: node24, script: join(kit3Dir, 'node_modules', 'vite', 'bin', 'vite.js'), args: ['build'], output: 'build', done: 'index.js' },
  })
  return { library, install, build }
}

/** `node build` of the Kit 3 fixture under Node 24. */
export function startSvelteKit3({ port, env = {}, name = 'sveltekit3', log }) {
  return startServer(kit3Dir, {
    node: node24,
    args: ['build'],
    port,
    ready: /Listening on/,
    name,
    log,
    env: { NODE_ENV: 'production', ORIGIN: `http://127.0.0.1:${port}`, ...env, ...node24Env(), HOST: '127.0.0.1', PORT: String(port) },
  })
}

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
