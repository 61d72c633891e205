export const repoRoot: string
export const exampleDirs: { next: string; next15: string; hono: string; sveltekit: string; astro: string }

export interface Library {
  /** Absolute path of the isr-cache tarball. */
  tarball: string
  sha256: string
  /** How long `npm pack` took (0 when ISR_CACHE_TARBALL named one). */
  ms: number
  /** The paths in the tarball, relative to its package/ directory (absent when ISR_CACHE_TARBALL named one). */
  files?: string[]
}
export interface StepResult {
  /** False when the step was skipped because its inputs did not change. */
  ran: boolean
  ms: number
}
export type Log = (line: string) => void

export function run(
  command: string,
  args: string[],
  options?: { cwd?: string; env?: Record<string, string | undefined>; background?: boolean; echo?: boolean; log?: Log },
): Promise<{ ms: number; output: string }>
export function packLibrary(options?: {
  log?: Log
  /** Pack this directory (default: this checkout); ISR_CACHE_TARBALL is then ignored. */
  from?: string
  /** Where the tarball goes (default examples/next/.pack). */
  destination?: string
  /** Run the package's `prepack` script (which builds dist/); default false (`--ignore-scripts`). */
  prepack?: boolean
}): Promise<Library>
export function installExample(appDir: string, library: Library, options?: { log?: Log; echo?: boolean; sentinel?: string; env?: Record<string, string | undefined> }): Promise<StepResult>
export function buildInputs(appDir: string, library: Library): string
export function buildExample(
  appDir: string,
  library: Library,
  options?: {
    env?: Record<string, string | undefined>
    log?: Log
    force?: boolean
    echo?: boolean
    /** Another build than `next build`: node `script` with `args`, writing `output`/`done` when it succeeded. */
    command?: { script: string; args: string[]; output: string; done: string; node?: string }
  },
): Promise<StepResult>
export function prepareApp(
  appDir: string,
  options?: { buildLibrary?: boolean; echo?: boolean; log?: Log },
): Promise<{ library: Library; install: StepResult; build: StepResult }>
export function nextBin(appDir: string): string
export { freePort } from './free-port.mjs'

export interface NextServer {
  readonly name: string
  readonly port: number
  /** The server's process id, also its process group's (it runs detached). */
  readonly pid: number
  /** http://127.0.0.1:<port> */
  readonly url: string
  /** Milliseconds from spawn until it accepted connections. */
  readonly startMs: number
  readonly running: boolean
  /** What the server printed so far. */
  output(): string
  /** SIGTERM (SIGKILL after `graceMs`), and waits for the exit. */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>
}
export function startNext(
  appDir: string,
  options: { port: number; env?: Record<string, string | undefined>; name?: string; log?: Log; readyTimeoutMs?: number; echo?: boolean },
): Promise<NextServer>
export function startServer(
  appDir: string,
  options: {
    args: string[]
    port: number
    ready: RegExp
    env?: Record<string, string | undefined>
    name?: string
    log?: Log
    readyTimeoutMs?: number
    echo?: boolean
    /** The Node binary (default: this process's). */
    node?: string
  },
): Promise<NextServer>
/** Prints where the app, store and upstream are and how to purge; stops both on Ctrl-C or SIGTERM. */
export function serveUntilStopped(options: {
  server: NextServer
  upstream: { url: string; close(): Promise<void> }
  try: string
  store: string
  purge: string
}): void
