/**
 * A real Redis Cluster for tests: `redis-server --cluster-enabled yes` on free loopback ports,
 * joined by `redis-cli --cluster create`, in a temporary directory removed by `stop()`.
 *
 * - `startRedisCluster()` (or `startRedisCluster(3)`): 3 masters, no replicas.
 * - `startRedisCluster({ masters: 3, replicasPerMaster: 1 })`: every master has a replica, and a
 *   short `cluster-node-timeout` (1500 ms by default), so that a killed master is replaced in
 *   a few seconds: `killMasterOf(slot)`, then `waitForFailover(slot, killed)`.
 *
 * Every server runs under the watchdog of `launchRedisServer`, so none outlives the test process,
 * even when it is killed. Like `redisUrl()`, this throws with instructions, never skips, when
 * `redis-server` or `redis-cli` is missing.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { redisScripts } from '../../src/stores/redis/lua/scripts.js';
import {
  askRedis,
  freeServerPort,
  hasRedisServer,
  NO_REDIS,
  type RedisNode,
  type ServerGroup,
  serverGroup,
  until,
} from './redis.js';

const run = promisify(execFile);

export type ClusterNode = RedisNode;

export interface RedisClusterOptions {
  /** @default 3 */
  masters?: number;
  /** @default 0 */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a silent node takes to be declared failing.
   * @default 1500 with replicas (a quick failover); Redis's own 15000 without (no failover is
   * possible, and a short timeout would only let a stalled node take the cluster down)
   */
  nodeTimeoutMs?: number;
}

/** A slot's master and replicas, as the cluster says now. */
export interface Shard {
  readonly master: ClusterNode;
  readonly replicas: readonly ClusterNode[];
}

export interface RedisCluster {
  /** Every node started, masters and replicas (startup nodes for a client). */
  readonly nodes: readonly ClusterNode[];
  /** The master serving `slot` and its replicas, as a live node reports them. */
  shardOf(slot: number): Promise<Shard>;
  /** SIGKILLs a node (no shutdown, no last words to the cluster); resolves once it is gone. */
  kill(node: ClusterNode): Promise<void>;
  /** SIGKILLs the master serving `slot`; resolves with it once it is gone. */
  killMasterOf(slot: number): Promise<ClusterNode>;
  /**
   * Resolves with the new master of `slot` once a live node other than `dead` serves it and every
   * live node reports `cluster_state:ok`; rejects after `timeoutMs`.
   */
  waitForFailover(slot: number, dead: ClusterNode, timeoutMs?: number): Promise<ClusterNode>;
  /** One command to one node, outside any cluster client (SCRIPT EXISTS, INFO...). */
  command(node: ClusterNode, name: string, ...args: (string | number)[]): Promise<unknown>;
  /** Kills every node and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function startRedisCluster(
  options: number | RedisClusterOptions = {},
): Promise<RedisCluster> {
  const {
    masters = 3,
    replicasPerMaster = 0,
    nodeTimeoutMs,
  } = typeof options === 'number' ? { masters: options } : options;
  requireTools();
  const total = masters * (1 + replicasPerMaster);
  const nodes = (await distinctFreePorts(total)).map((port) => ({ host: HOST, port }));
  const servers = serverGroup('cluster');
  const stop = () => servers.stop();
  const cluster: RedisCluster = {
    nodes,
    shardOf: (slot) => shardOf(liveNodes(servers), slot),
    kill: (node) => servers.kill(node.port),
    async killMasterOf(slot) {
      const { master } = await cluster.shardOf(slot);
      await cluster.kill(master);
      return master;
    },
    async waitForFailover(slot, dead, timeoutMs = 30_000) {
      let master: ClusterNode | undefined;
      await until(
        `slot ${slot} served again after ${HOST}:${dead.port} died`,
        timeoutMs,
        async () => {
          const live = liveNodes(servers);
          const states = await Promise.all(live.map((node) => clusterState(node)));
          if (!states.every((state) => state === 'ok')) return false;
          const shard = await shardOf(live, slot);
          master = shard.master;
          return master.port !== dead.port;
        },
      );
      return master!;
    },
    command: ask,
    stop,
  };
  try {
    const timeout = nodeTimeoutMs ?? (replicasPerMaster > 0 ? 1500 : undefined);
    // Settled, not all: a node still starting when another fails must be known to `stop()`.
    const launched = await Promise.allSettled(
      nodes.map(async ({ port }) => {
        const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`];
        args.push('--dir', servers.dir);
        if (timeout !== undefined) args.push('--cluster-node-timeout', String(timeout));
        // Replicas sync at once (Redis 7 waits 5 s for more replicas to share a diskless sync).
        args.push('--repl-diskless-sync-delay', '0');
        await servers.launch(port, args);
      }),
    );
    for (const result of launched) if (result.status === 'rejected') throw result.reason;
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      String(replicasPerMaster),
      '--cluster-yes',
    ]);
    await until('the Redis Cluster to come up', 30_000, async () => {
      for (const node of nodes) {
        if (!(await settled(node, masters, total))) return false;
      }
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return cluster;
}

/** `preloadScripts` for every node of `cluster` (each node keeps its own script cache). */
export async function preloadClusterScripts(cluster: RedisCluster): Promise<void> {
  for (const node of cluster.nodes) {
    for (const script of redisScripts) await cluster.command(node, 'SCRIPT', 'LOAD', script.source);
  }
}

function requireTools(): void {
  if (!hasRedisServer()) throw new Error(`${NO_REDIS} (the Cluster tests start their own nodes)`);
  try {
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${NO_REDIS} (the Cluster tests also need redis-cli on the PATH)`);
  }
}

/** `count` free ports, all different (the OS may hand the same one out twice in a row). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  // Each node also binds its cluster bus at port + 10000.
  while (ports.size < count) ports.add(await freeServerPort(10_000));
  return [...ports];
}

function liveNodes(servers: ServerGroup): ClusterNode[] {
  return servers.live().map((port) => ({ host: HOST, port }));
}

const ask = askRedis;

async function clusterState(node: ClusterNode): Promise<string | undefined> {
  try {
    const info = String(await ask(node, 'CLUSTER', 'INFO'));
    return /cluster_state:(\w+)/.exec(info)?.[1];
  } catch {
    return undefined;
  }
}

/** One line of CLUSTER NODES. */
interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  readonly masterId: string;
  readonly linked: boolean;
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

async function clusterNodes(node: ClusterNode): Promise<NodeLine[]> {
  const text = String(await ask(node, 'CLUSTER', 'NODES'));
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
      const [id, address, flags, masterId, , , , link, ...slots] = line.trim().split(' ');
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(address!)?.[1]),
        flags: flags!.split(','),
        masterId: masterId!,
        linked: link === 'connected',
        slots: slots
          .filter((s) => !s.startsWith('[')) // slots being migrated: none in these tests
          .map((s) => {
            const [from, to = from] = s.split('-').map(Number);
            return [from!, to!] as const;
          }),
      };
    });
}

/** The first live node that answers decides (they agree once the cluster is settled). */
async function shardOf(live: readonly ClusterNode[], slot: number): Promise<Shard> {
  let lastError: unknown;
  for (const node of live) {
    let lines: NodeLine[];
    try {
      lines = await clusterNodes(node);
    } catch (error) {
      lastError = error;
      continue;
    }
    const master = lines.find(
      (l) => l.flags.includes('master') && l.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    if (!master) throw new Error(`No master serves slot ${slot} (asked ${HOST}:${node.port})`);
    const replicas = lines.filter((l) => l.flags.includes('slave') && l.masterId === master.id);
    return {
      master: { host: HOST, port: master.port },
      replicas: replicas.map((r) => ({ host: HOST, port: r.port })),
    };
  }
  throw new Error(`No live node of the cluster answered CLUSTER NODES: ${String(lastError)}`);
}

/**
 * Whether `node` sees the whole cluster settled: state ok, every node known and linked, none
 * suspected, `masters` masters with slots, every other node a replica of one of them, and,
 * when `node` is a replica, its replication link up (a failover needs a synced replica).
 */
async function settled(node: ClusterNode, masters: number, total: number): Promise<boolean> {
  try {
    if ((await clusterState(node)) !== 'ok') return false;
    const lines = await clusterNodes(node);
    if (lines.length !== total) return false;
    const healthy = lines.every(
      (l) =>
        (l.linked || l.flags.includes('myself')) &&
        !l.flags.some((f) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(f)),
    );
    const masterIds = new Set(
      lines.filter((l) => l.flags.includes('master') && l.slots.length > 0).map((l) => l.id),
    );
    const replicas = lines.filter((l) => l.flags.includes('slave'));
    if (!healthy || masterIds.size !== masters || replicas.length !== total - masters) {
      return false;
    }
    if (!replicas.every((r) => masterIds.has(r.masterId))) return false;
    const self = lines.find((l) => l.flags.includes('myself'))!;
    if (!self.flags.includes('slave')) return true;
    const info = String(await ask(node, 'INFO', 'replication'));
    return info.includes('master_link_status:up');
  } catch {
    return false;
  }
}
