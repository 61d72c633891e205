/**
 * Packs this checkout of isr-cache, installs the tarball into an example app the way a user installs a
 * package, builds the app and starts `next start` processes. Shared by `run.mjs`, `bench.mjs` and the
 * end-to-end tests (test/support/next-app.ts), for examples/next and examples/next15; examples/hono uses
 * the pack, install and server steps (it has no build).
 *
 * Installs and builds are skipped when their inputs did not change (a hash stored in node_modules and in
 * .next), so re-running the tests locally costs seconds; a clean clone always installs and builds.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { setPriority } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startUpstream } from './upstream.mjs'

export { freePort } from './free-port.mjs'

/** The isr-cache checkout this example lives in. */
export const repoRoot = resolve(fileURLToPath(new URL('../../../', import.meta.url)))
export const exampleDirs = {
  next: join(repoRoot, 'examples', 'next'),
  next15: join(repoRoot, 'examples', 'next15'),
  hono: join(repoRoot, 'examples', 'hono'),
  sveltekit: join(repoRoot, 'examples', 'sveltekit'),
  astro: join(repoRoot, 'examples', 'astro'),
}

const INSTALL_MARKER = join('node_modules', '.isr-cache-example-install.json')
const BUILD_MARKER = 'isr-cache-build-inputs'
/** Not build inputs (or written by the build itself). */
const UNHASHED = new Set(['node_modules', '.next', '.pack', 'next-env.d.ts', 'README.md', 'tooling', 'run.mjs', 'bench.mjs', 'build', '.svelte-kit', 'node24', 'dist', 'dist-memory', '.astro', '.output', '.nuxt', '.data', '.nitro'])

const sha256 = (data) => createHash('sha256').update(data).digest('hex')
const defaultLog = (line) => console.log(`[example] ${line}`)

/** process.env plus `extra`; an `undefined` in `extra` removes the variable. */
function childEnv(extra = {}) {
  const env = { ...process.env, ...extra }
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name]
  return env
}
/**
 * For `next build` and `next start`: a production NODE_ENV whatever the caller runs under (vitest sets
 * NODE_ENV=test, which Next would warn about and build differently).
 */
const nextEnv = (extra) => ({ NEXT_TELEMETRY_DISABLED: '1', ...extra, NODE_ENV: 'production' })

/**
 * Runs a command to completion; rejects with the end of its output if it fails. `background: true`
 * lowers its CPU priority, so an install or a build does not starve tests running beside it. `echo: true`
 * lets it write to this process's terminal instead (npm's and Next's own progress output; the output is
 * then not captured).
 */
export function run(command, args, { cwd, env, background = false, echo = false, log = defaultLog } = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now()
    log(`$ ${[command, ...args].join(' ')}  (in ${cwd})`)
    const child = spawn(command, args, { cwd, env: childEnv(env), stdio: echo ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'] })
    if (background && child.pid !== undefined) {
      try {
        setPriority(child.pid, 10)
      } catch {
        // Not permitted here: run at normal priority.
      }
    }
    let output = ''
    const keep = (data) => {
      output = (output + data.toString()).slice(-20_000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      const ms = Math.round(performance.now() - started)
      if (code === 0) resolvePromise({ ms, output })
      else reject(new Error(`\`${[command, ...args].join(' ')}\` failed (${signal ?? `exit ${code}`}) after ${ms} ms${echo ? ' (its output is above)' : `:\n${output}`}`))
    })
  })
}

/**
 * `npm pack` of this checkout's built package (run `npm run build` first), or the tarball named by
 * ISR_CACHE_TARBALL (to try a release candidate). Returns its path and sha256.
 *
 * `from`: pack that directory instead (a clean copy of the repository, for the packaging test; the
 * ISR_CACHE_TARBALL override does not apply then). `prepack: true` lets npm run the package's `prepack`
 * script, which builds dist/; by default it is skipped (`--ignore-scripts`), because rebuilding dist/ of
 * this checkout would pull it from under test files running beside the caller.
 */
export async function packLibrary({ log = defaultLog, from, destination, prepack = false } = {}) {
  const given = process.env.ISR_CACHE_TARBALL
  if (given && from === undefined) {
    const tarball = isAbsolute(given) ? given : resolve(given)
    return { tarball, sha256: sha256(readFileSync(tarball)), ms: 0 }
  }
  const source = from ?? repoRoot
  if (!prepack && !existsSync(join(source, 'dist', 'index.js'))) {
    throw new Error(`[isr-cache example] ${join(source, 'dist')} is missing: run \`npm run build\` in ${source} first`)
  }
  const into = destination ?? join(exampleDirs.next, '.pack')
  mkdirSync(into, { recursive: true })
  const args = ['pack', '--json', '--pack-destination', into, ...(prepack ? [] : ['--ignore-scripts'])]
  const { ms, output } = await run('npm', args, { cwd: source, log })
  // The JSON report is the last thing printed (a prepack build logs before it).
  const [packed] = JSON.parse(output.slice(output.lastIndexOf('\n[') + 1 || output.indexOf('[')))
  const tarball = join(into, packed.filename)
  return { tarball, sha256: sha256(readFileSync(tarball)), ms, files: packed.files.map((file) => file.path) }
}

/** A registry hiccup should not fail a test run: one more try after a pause. */
async function retryOnce(step, log) {
  try {
    return await step()
  } catch (error) {
    log(`${error.message.split('\n')[0]}; trying once more in 5 s`)
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 5000))
    return step()
  }
}

/**
 * Installs the app's locked dependencies, then the isr-cache tarball (`--no-save`: the committed
 * package.json and lockfile stay as they are). Each step runs only when its input changed. `echo`: npm
 * writes to this terminal (its progress spinner, its summary, any error as it happens), for
 * `npm run example:next`. Install scripts stay in the background: the sqlite3 compile would print
 * hundreds of harmless compiler warnings. `sentinel`: a package whose absence from node_modules means the
 * dependencies must be installed again.
 */
export async function installExample(appDir, library, { log = defaultLog, echo = false, sentinel = 'next', env } = {}) {
  const started = performance.now()
  const markerPath = join(appDir, INSTALL_MARKER)
  const deps = sha256(readFileSync(join(appDir, 'package.json')) + readFileSync(join(appDir, 'package-lock.json')) + process.version)
  let marker = {}
  try {
    marker = JSON.parse(readFileSync(markerPath, 'utf8'))
  } catch {
    // First install.
  }
  let ran = false
  if (marker.deps !== deps || !existsSync(join(appDir, 'node_modules', sentinel, 'package.json'))) {
    // `npm install`, not `npm ci`: with the committed lockfile it installs the same pinned versions, and
    // it does not fail on lockfile entries of other platforms' optional packages (as `npm ci` does here).
    // --include=dev: TypeScript and the types are needed by `next build`, even under NODE_ENV=production.
    if (echo) log(`installing the example's dependencies: about 2 minutes the first time on two cores, most of it compiling sqlite3`)
    await retryOnce(() => run('npm', ['install', '--include=dev', '--no-audit', '--no-fund'], { cwd: appDir, env, background: !echo, echo, log }), log)
    marker = { deps }
    ran = true
  }
  if (marker.library !== library.sha256 || !existsSync(join(appDir, 'node_modules', 'isr-cache', 'package.json'))) {
    await run('npm', ['install', '--no-save', '--include=dev', '--no-audit', '--no-fund', library.tarball], { cwd: appDir, env, background: !echo, echo, log })
    marker = { ...marker, library: library.sha256 }
    ran = true
  }
  writeFileSync(markerPath, JSON.stringify(marker))
  return { ran, ms: Math.round(performance.now() - started) }
}

function hashTree(dir, into, base = dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (dir === base && UNHASHED.has(entry.name)) continue
    const path = join(dir, entry.name)
    if (entry.isDirectory()) hashTree(path, into, base)
    else if (entry.isFile()) into.update(`${path.slice(base.length)}\0`).update(readFileSync(path)).update('\0')
  }
  return into
}

/** Hash of everything `next build` reads: the app's files, the installed isr-cache tarball, Node's version. */
export function buildInputs(appDir, library) {
  return hashTree(appDir, createHash('sha256').update(`${library.sha256}\0${process.version}\0`)).digest('hex')
}

/**
 * `next build` (or, with `command`, another build: `{ script, args, output, done }`, e.g. `vite build`
 * writing build/index.js), unless its output was built from the same inputs. `env` reaches the build
 * (e.g. UPSTREAM_URL).
 */
export async function buildExample(appDir, library, { env, log = defaultLog, force = false, echo = false, command } = {}) {
  const { script, args, output, done, node = process.execPath } = command ?? { script: nextBin(appDir), args: ['build'], output: '.next', done: 'BUILD_ID' }
  const inputs = buildInputs(appDir, library)
  const markerPath = join(appDir, output, BUILD_MARKER)
  if (!force && existsSync(join(appDir, output, done)) && existsSync(markerPath) && readFileSync(markerPath, 'utf8') === inputs) {
    log(`${appDir}: ${output} is up to date, build skipped`)
    return { ran: false, ms: 0 }
  }
  const { ms } = await run(node, [script, ...args], {
    cwd: appDir,
    env: nextEnv(env),
    background: !echo,
    echo,
    log,
  })
  // Hashed again: `next build` may rewrite tsconfig.json (and a rewritten one must not cause a rebuild).
  writeFileSync(markerPath, buildInputs(appDir, library))
  return { ran: true, ms }
}

/**
 * Everything before `next start`: (`npm run build` of isr-cache if `buildLibrary`), pack, install, build.
 * The build prerenders pages that read the upstream, so one runs meanwhile, serving a "build" document.
 */
export async function prepareApp(appDir, { buildLibrary = false, echo = false, log = defaultLog } = {}) {
  if (buildLibrary) await run('npm', ['run', 'build'], { cwd: repoRoot, log })
  const library = await packLibrary({ log })
  const install = await installExample(appDir, library, { log, echo })
  const upstream = await startUpstream({ posts: { version: 'build', title: 'rendered by next build' } })
  let build
  try {
    build = await buildExample(appDir, library, { env: { UPSTREAM_URL: upstream.url }, log, echo })
  } finally {
    await upstream.close()
  }
  return { library, install, build }
}

export function nextBin(appDir) {
  return join(appDir, 'node_modules', 'next', 'dist', 'bin', 'next')
}

/** Every `next start` this process started, for the exit hook. */
const live = new Set()
let hooked = false
function killGroup(child, signal) {
  try {
    // Negative pid: the whole process group (next start and anything it spawned).
    process.kill(-child.pid, signal)
  } catch {
    // Already gone.
  }
}

function listening(port) {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolvePromise(true)
    })
    socket.once('error', () => resolvePromise(false))
  })
}

/**
 * Starts `next start -H 127.0.0.1 -p <port>` in its own process group and resolves once it accepts
 * connections. `echo`: also copy its output to this process's. Always `stop()` it.
 */
export function startNext(appDir, { port, env, name = 'next', log = defaultLog, readyTimeoutMs = 60_000, echo = false }) {
  return startServer(appDir, {
    args: [nextBin(appDir), 'start', '-H', '127.0.0.1', '-p', String(port)],
    env: nextEnv(env),
    ready: /\bReady\b/,
    port,
    name,
    log,
    readyTimeoutMs,
    echo,
  })
}

/**
 * Starts `node <args>` in `appDir` (`node`: another Node binary than this one), in its own process group, and resolves once its output matches `ready`
 * and `port` accepts connections. `echo`: also copy its output to this process's. Always `stop()` it.
 */
export async function startServer(appDir, { args, port, env, ready, name = 'server', log = defaultLog, readyTimeoutMs = 60_000, echo = false, node = process.execPath }) {
  if (!hooked) {
    hooked = true
    // Last resort (a crashed test run): never leave a server behind.
    process.once('exit', () => {
      for (const child of live) killGroup(child, 'SIGKILL')
    })
  }
  const started = performance.now()
  const child = spawn(node, args, {
    cwd: appDir,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  live.add(child)
  let output = ''
  const keep = (data) => {
    output = (output + data.toString()).slice(-200_000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  if (echo) {
    child.stdout.pipe(process.stdout)
    child.stderr.pipe(process.stderr)
  }
  const exited = new Promise((resolvePromise) => {
    child.once('exit', (code, signal) => {
      live.delete(child)
      resolvePromise({ code, signal })
    })
  })
  let running = true
  void exited.then(() => (running = false))

  const giveUpAt = performance.now() + readyTimeoutMs
  // "Ready" in its output too: a port taken by someone else in the meantime would also accept connections.
  while (!ready.test(output) || !(await listening(port))) {
    if (!running) throw new Error(`${name} (port ${port}) exited at start-up:\n${output}`)
    if (performance.now() > giveUpAt) {
      killGroup(child, 'SIGKILL')
      throw new Error(`${name} (port ${port}) did not listen within ${readyTimeoutMs} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const ms = Math.round(performance.now() - started)
  log(`${name}: ready on http://127.0.0.1:${port} in ${ms} ms`)

  async function signal(signalName, graceMs) {
    if (!running) return
    killGroup(child, signalName)
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }
  return {
    name,
    port,
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    startMs: ms,
    get running() {
      return running
    },
    /** What the server printed so far. */
    output: () => output,
    /** SIGTERM (SIGKILL after `graceMs`), and waits for the exit. */
    stop: (graceMs = 5000) => signal('SIGTERM', graceMs),
    /** SIGKILL, and waits for the exit. */
    kill: () => signal('SIGKILL', 0),
  }
}

/**
 * The end of an example's run script: prints where the app, its store and its upstream are and how to
 * purge, then stops the server and the upstream on Ctrl-C or SIGTERM.
 */
export function serveUntilStopped({ server, upstream, try: hint, store, purge }) {
  console.log(`
  App:       ${server.url}   (${hint})
  Store:     ${store}
  Upstream:  ${upstream.url}/posts
  Change the posts, then purge:
    curl -X PUT -d '{"version":"v2","title":"Edited"}' ${upstream.url}/posts
    ${purge}
  Ctrl-C stops.
`)
  let stopping = false
  async function shutdown() {
    if (stopping) return
    stopping = true
    await server.stop()
    await upstream.close()
    process.exit(0)
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}
