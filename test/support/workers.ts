/**
 * Worker processes (test/support/worker.mjs, on the BUILT package) and calls to them over IPC, for the
 * multi-process tests that need nothing of cluster.test.ts's progress events.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const WORKER = fileURLToPath(new URL('./worker.mjs', import.meta.url))
const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url))

export interface Worker {
  child: ChildProcess
  pid: number
  name: string
  pending: Map<number, { resolve(value: unknown): void; reject(error: Error): void }>
  exited: Promise<void>
}

let nextId = 1

export function spawnWorker(name: string): Promise<Worker> {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: these tests run the built package; run \`npm run build\` (npm test does) first`)
  const child = fork(WORKER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
  const pending: Worker['pending'] = new Map()
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const pendingCall of pending.values()) pendingCall.reject(new Error(`worker ${name} exited (${signal ?? code}) before replying`))
      pending.clear()
      resolve()
    })
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start within 15 s`)), 15_000)
    child.once('error', reject)
    child.on('message', (message: { id?: number; event?: string; pid?: number; ok?: boolean; result?: unknown; error?: { code: string; message: string } }) => {
      if (message.event === 'ready' && message.id === undefined) {
        clearTimeout(timer)
        resolve({ child, pid: message.pid!, name, pending, exited })
        return
      }
      const waiting = message.id === undefined || message.event !== undefined ? undefined : pending.get(message.id)
      if (waiting === undefined) return
      pending.delete(message.id!)
      if (message.ok) waiting.resolve(message.result)
      else waiting.reject(Object.assign(new Error(`worker ${name}: ${message.error?.message}`), { code: message.error?.code }))
    })
    void exited.then(() => reject(new Error(`worker ${name} exited at start-up`)))
  })
}

/** Sends a command to a worker; resolves with its reply. */
export function call<T = unknown>(worker: Worker, message: Record<string, unknown>): Promise<T> {
  const id = nextId++
  return new Promise<T>((resolve, reject) => {
    worker.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
    worker.child.send({ ...message, id })
  })
}

export async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return
  worker.child.kill('SIGCONT') // in case a test left it stopped
  const killer = setTimeout(() => worker.child.kill('SIGKILL'), 3000)
  try {
    await call(worker, { op: 'close' }).catch(() => {})
    worker.child.kill('SIGTERM')
    await worker.exited
  } finally {
    clearTimeout(killer)
  }
}
