/**
 * PRIVATE Redis Cluster and Sentinel deployments for tests, on free loopback ports, built from the private
 * servers of redis-server.ts. Nothing here is skipped: a redis-server without cluster or sentinel support
 * makes the start fail with the server's own output.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@redis/client'
import { freePort, startPrivateRedis, type PrivateRedis } from './redis-server.js'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Runs a command on one server (a fresh connection: the caller may be mid-failover). */
export async function command(port: number, args: string[]): Promise<unknown> {
  const client = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false, connectTimeout: 2000 } })
  client.on('error', () => {})
  await client.connect()
  try {
    return await client.sendCommand(args)
  } finally {
    client.destroy()
  }
}

/** Polls `check` every 50 ms until it holds; fails after `ms` with `what`. */
export async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const giveUpAt = performance.now() + ms
  for (;;) {
    if (await check().catch(() => false)) return
    if (performance.now() > giveUpAt) throw new Error(`gave up after ${ms} ms waiting for ${what}`)
    await sleep(50)
  }
}

export interface PrivateCluster {
  /** Every node, masters first (as created; roles change after a failover). */
  readonly nodes: PrivateRedis[]
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,…` (every node). */
  readonly url: string
  /** Ports for node-redis `createCluster({ rootNodes })`. */
  readonly rootNodes: Array<{ socket: { host: string; port: number } }>
  /** The port of the node that serves `key`'s slot as master now. */
  masterOf(key: string): Promise<number>
  /** The port of a replica of the master on `masterPort`. */
  replicaOf(masterPort: number): Promise<number>
  close(): Promise<void>
}

async function clusterArgs(): Promise<string[]> {
  // A short node timeout: a killed master is failed over in about 2 s instead of 15.
  // Validity factor 0: a replica always takes over (a test may kill a master moments after it synced).
  // The bus port named too (Redis 7): by default it is the port + 10000, which freePort never checked, and
  // which lands in the kernel's ephemeral range where an outgoing connection may hold it (seen in CI).
  const args = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '1500', '--cluster-replica-validity-factor', '0']
  return [...args, '--cluster-port', String(await freePort())]
}

/** Starts `masters` masters with `replicasPerMaster` replicas each, joined with `redis-cli --cluster create`. */
export async function startPrivateCluster(masters = 3, replicasPerMaster = 1): Promise<PrivateCluster> {
  const count = masters * (1 + replicasPerMaster)
  const nodes = await Promise.all(Array.from({ length: count }, async () => startPrivateRedis({ args: await clusterArgs() })))
  const close = () => Promise.all(nodes.map((node) => node.close())).then(() => undefined)
  try {
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    )
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed (${created.status}):\n${created.stdout}\n${created.stderr}\n${nodes[0]!.log()}`)
    for (const node of nodes) {
      await waitFor(`cluster_state:ok on port ${node.port}`, 20_000, async () => String(await command(node.port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'))
    }
    // Every node must know every replica before a test asks for one.
    await waitFor('every node to see the whole cluster', 20_000, async () => {
      const views = await Promise.all(nodes.map(async (node) => String(await command(node.port, ['CLUSTER', 'NODES'])).trim().split('\n').length))
      return views.every((lines) => lines === count)
    })
    await waitFor('every replica to be in sync with its master', 20_000, async () => {
      const roles = await Promise.all(nodes.map(async (node) => String(await command(node.port, ['INFO', 'replication']))))
      const synced = roles.filter((info) => info.includes('role:slave') && info.includes('master_link_status:up'))
      return synced.length === masters * replicasPerMaster
    })
  } catch (error) {
    await close()
    throw error
  }
  return {
    nodes,
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`,
    rootNodes: nodes.map((node) => ({ socket: { host: '127.0.0.1', port: node.port } })),
    async masterOf(key) {
      const slot = Number(await command(nodes.find((node) => node.running)!.port, ['CLUSTER', 'KEYSLOT', key]))
      for (const node of nodes) {
        if (!node.running) continue
        const lines = String(await command(node.port, ['CLUSTER', 'NODES'])).trim().split('\n')
        for (const line of lines) {
          const [, address, flags, , , , , state, ...ranges] = line.split(' ')
          if (!flags!.includes('master') || flags!.includes('fail') || state !== 'connected') continue
          if (ranges.some((range) => inRange(range, slot))) return Number(address!.split('@')[0]!.split(':')[1])
        }
      }
      throw new Error(`no master serves slot ${slot}`)
    },
    async replicaOf(masterPort) {
      const lines = String(await command(masterPort, ['CLUSTER', 'NODES'])).trim().split('\n')
      const master = lines.find((line) => line.includes('myself'))!.split(' ')[0]
      const replica = lines.find((line) => line.split(' ')[3] === master)
      if (replica === undefined) throw new Error(`the master on ${masterPort} has no replica`)
      return Number(replica.split(' ')[1]!.split('@')[0]!.split(':')[1])
    },
    close,
  }
}

function inRange(range: string, slot: number): boolean {
  if (range.startsWith('[')) return false // a slot being migrated
  const [from, to] = range.split('-').map(Number)
  return slot >= from! && slot <= (to ?? from)!
}

export interface PrivateSentinel {
  readonly master: PrivateRedis
  readonly replica: PrivateRedis
  readonly sentinels: PrivateRedis[]
  readonly name: string
  /** `redis+sentinel://127.0.0.1:<s1>,…/<name>` */
  readonly url: string
  readonly sentinelRootNodes: Array<{ host: string; port: number }>
  /** The port of the current master, as the sentinels see it. */
  masterPort(): Promise<number>
  close(): Promise<void>
}

/** Starts a master, one replica and three sentinels (quorum 2) watching them as `name`. */
export async function startPrivateSentinel(name = 'mymaster'): Promise<PrivateSentinel> {
  const master = await startPrivateRedis()
  const replica = await startPrivateRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] })
  const dir = mkdtempSync(join(tmpdir(), 'isr-cache-sentinel-'))
  const sentinels: PrivateRedis[] = []
  const close = async () => {
    await Promise.all([...sentinels, replica, master].map((server) => server.close()))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor('the replica to sync', 20_000, async () => String(await command(replica.port, ['INFO', 'replication'])).includes('master_link_status:up'))
    for (let index = 0; index < 3; index += 1) {
      const file = join(dir, `sentinel-${index}-${await freePort()}.conf`)
      writeFileSync(
        file,
        [
          `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      )
      sentinels.push(await startPrivateRedis({ configFile: file, args: ['--sentinel'] }))
    }
    // Each sentinel must know the replica and the other sentinels before a failover can be asked for.
    await waitFor('the sentinels to see the replica and each other', 30_000, async () => {
      for (const sentinel of sentinels) {
        const info = (await command(sentinel.port, ['SENTINEL', 'MASTER', name])) as string[]
        const field = (key: string) => Number(info[info.indexOf(key) + 1])
        if (field('num-slaves') < 1 || field('num-other-sentinels') < 2) return false
      }
      return true
    })
  } catch (error) {
    await close()
    throw error
  }
  const sentinelRootNodes = sentinels.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port }))
  return {
    master,
    replica,
    sentinels,
    name,
    url: `redis+sentinel://${sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',')}/${name}`,
    sentinelRootNodes,
    async masterPort() {
      const reply = (await command(sentinels[0]!.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name])) as string[]
      return Number(reply[1])
    },
    close,
  }
}
