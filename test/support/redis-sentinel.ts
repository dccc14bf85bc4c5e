import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  askRedis,
  freeServerPort,
  hasRedisServer,
  NO_REDIS,
  type RedisNode,
  serverGroup,
  until,
} from './redis.js';

export interface RedisSentinelOptions {
  /**
   * `sentinel down-after-milliseconds`: how long a silent master takes to be declared down.
   * @default 1000 (Redis's own 30 s would make a test wait half a minute for a failover)
   */
  downAfterMs?: number;
}

export interface RedisSentinelGroup {
  /** The master's name in Sentinel (`name` of an ioredis client). */
  readonly name: string;
  /** The Sentinels to give a client (`sentinels`). */
  readonly sentinels: readonly RedisNode[];
  /** The data servers, the first master at start. */
  readonly servers: readonly RedisNode[];
  /** The master as Sentinel names it now (`SENTINEL GET-MASTER-ADDR-BY-NAME`). */
  master(): Promise<RedisNode>;
  /** `SENTINEL FAILOVER <name>`: promotes the replica while the master is alive. */
  failover(): Promise<void>;
  /** SIGKILLs a data server (no shutdown, no last words); resolves once it is gone. */
  kill(node: RedisNode): Promise<void>;
  /**
   * Resolves with the new master once Sentinel names a server other than `old` and that server
   * reports `role:master`; rejects after `timeoutMs`.
   */
  waitForFailover(old: RedisNode, timeoutMs?: number): Promise<RedisNode>;
  /** One command to one server or Sentinel, outside any client under test. */
  command(node: RedisNode, name: string, ...args: (string | number)[]): Promise<unknown>;
  /** Kills every process and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const NAME = 'mymaster';

export async function startRedisSentinel(
  options: RedisSentinelOptions = {},
): Promise<RedisSentinelGroup> {
  if (!hasRedisServer()) throw new Error(`${NO_REDIS} (the Sentinel tests start their own)`);
  const { downAfterMs = 1000 } = options;
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freeServerPort(0));
  const [masterPort, replicaPort, sentinelPort] = [...ports] as [number, number, number];
  const data: RedisNode[] = [
    { host: HOST, port: masterPort },
    { host: HOST, port: replicaPort },
  ];
  const sentinel: RedisNode = { host: HOST, port: sentinelPort };
  const servers = serverGroup('sentinel');
  const { dir, stop } = servers;
  // Replicas sync at once (Redis 7 waits 5 s for more replicas to share a diskless sync); a
  // replica writes what it receives to a file of its own.
  const dataArgs = (port: number) =>
    ['--dir', dir, '--dbfilename', `dump-${port}.rdb`, '--repl-diskless-sync-delay', '0'].concat(
      port === masterPort ? [] : ['--replicaof', HOST, String(masterPort)],
    );
  const launchData = (port: number) => servers.launch(port, dataArgs(port));
  const ask = askRedis;
  const role = async (node: RedisNode) => {
    try {
      return String(await ask(node, 'INFO', 'replication'));
    } catch {
      return '';
    }
  };
  const master = async (): Promise<RedisNode> => {
    const [host, port] = (await ask(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', NAME)) as [
      string,
      string,
    ];
    return { host, port: Number(port) };
  };
  const group: RedisSentinelGroup = {
    name: NAME,
    sentinels: [sentinel],
    servers: data,
    master,
    async failover() {
      await ask(sentinel, 'SENTINEL', 'FAILOVER', NAME);
    },
    kill: (node) => servers.kill(node.port),
    async waitForFailover(old, timeoutMs = 30_000) {
      let now: RedisNode | undefined;
      await until(`Sentinel to promote a replica of ${HOST}:${old.port}`, timeoutMs, async () => {
        try {
          now = await master();
        } catch {
          return false;
        }
        return now.port !== old.port && (await role(now)).includes('role:master');
      });
      return now!;
    },
    command: ask,
    stop,
  };
  try {
    await launchData(masterPort);
    await launchData(replicaPort);
    // Sentinel is not up yet to name the master: the replica's link alone says it synced.
    await until('the replica to sync', 30_000, async () =>
      (await role(data[1]!)).includes('master_link_status:up'),
    );
    // Sentinel rewrites its config file (it records what it learns): a file of its own.
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `sentinel monitor ${NAME} ${HOST} ${masterPort} 1`,
        `sentinel down-after-milliseconds ${NAME} ${downAfterMs}`,
        // A failover that stalls is retried after this long (Redis's own 3 minutes).
        `sentinel failover-timeout ${NAME} 10000`,
        '',
      ].join('\n'),
    );
    await servers.launch(sentinelPort, ['--dir', dir], { config: conf, sentinel: true });
    // Sentinel learns of the replica from the master's INFO; a failover needs it known and
    // healthy.
    await until('Sentinel to know the replica', 30_000, async () => {
      try {
        const replicas = (await ask(sentinel, 'SENTINEL', 'REPLICAS', NAME)) as string[][];
        return replicas.some((fields) => {
          const get = (k: string) => fields[fields.indexOf(k) + 1];
          return get('port') === String(replicaPort) && get('flags') === 'slave';
        });
      } catch {
        return false;
      }
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return group;
}
