/**
 * Runs an ES module script in a fresh Node process: for what needs a process of its own (V8 flags, an
 * environment read at start-up such as NODE_EXTRA_CA_CERTS, a clean module registry). The script prints one
 * JSON line last; that is what this resolves to. Rejects with the child's output if it fails or outlives
 * `timeoutMs`. `cwd`: where the script runs (bare specifiers resolve from there).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export async function runScript<T>(
  script: string,
  options: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<T> {
  const { stdout } = await run(process.execPath, [...(options.nodeArgs ?? []), '--input-type=module', '-e', script], {
    env: options.env ?? process.env,
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 15_000,
  }).catch((error: Error & { code?: unknown; signal?: unknown; stdout?: string; stderr?: string }) => {
    // Say how it ended: exit code 13 with nothing printed is a top-level await that never settled (the
    // event loop emptied while the script waited).
    const how = error.signal ? `killed by ${String(error.signal)}` : `exit code ${String(error.code)}${error.code === 13 ? ' (a top-level await never settled)' : ''}`
    throw new Error(`the child script failed: ${how}\n--- stdout ---\n${error.stdout ?? ''}\n--- stderr ---\n${error.stderr ?? ''}`, { cause: error })
  })
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as T
}
