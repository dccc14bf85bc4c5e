/**
 * `llm-resilience inspect`: the live state of the shared limiters and circuits kept in Redis,
 * once or every second. Reading: ../inspect-redis.ts. ioredis (an optional peer) is loaded only
 * when the command runs.
 */
import Table from 'cli-table3';
import { type NotARun, parseCommandOptions, runParsed, TEXT } from '../command-args.js';
import type { BudgetState, GivenLimit, InspectSnapshot } from '../inspect-redis.js';

export const inspectUsage = `Usage: llm-resilience inspect --redis URL [--key NAME] [--limits LIST] [--watch] [--json]

The live state of the limiters (RedisStore), pipeline budgets (anthropicPolicy / openaiPolicy
with redis) and circuit breakers shared through Redis. Keys are found with SCAN; nothing is
written.

Options:
  --redis <url>          redis://[user:password@]host:port[/db] (default: $REDIS_URL)
  --key <name>           only keys whose name contains this
  --limits <list>        limits of the keys: rpm=50,itpm=30000 applies to every key named rpm or
                         ending in :rpm (and so on); per --period-ms. Redis does not keep a
                         limiter's limits (a budget records its own; these override them). With
                         them: limit, available, and when it is full again
  --period-ms <ms>       the limits' period (default 60000)
  --watch                refresh every second until Ctrl-C
  --json                 one JSON object (with --watch: one per line)
  -h, --help             show this help`;

export interface InspectRequest {
  readonly url: string;
  readonly key?: string;
  readonly limits: readonly GivenLimit[];
  readonly watch: boolean;
  readonly json: boolean;
}

export type ParsedInspectArgs =
  | NotARun
  | { readonly kind: 'run'; readonly request: InspectRequest };

/** Turns `inspect`'s arguments into a request; never throws, never connects. */
export function parseInspectArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedInspectArgs {
  const parsed = parseCommandOptions(argv, {
    redis: TEXT,
    key: TEXT,
    limits: TEXT,
    'period-ms': TEXT,
    watch: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (parsed.kind !== 'values') return parsed;
  const { values } = parsed;
  const url = values.redis ?? env.REDIS_URL;
  if (url === undefined || url === '') {
    return { kind: 'error', message: '--redis: a Redis URL is needed (or $REDIS_URL)' };
  }
  if (!/^rediss?:\/\//.test(url)) {
    return {
      kind: 'error',
      message: `--redis: expected redis:// or rediss:// URL, got "${maskUrl(url)}"`,
    };
  }
  const periodText = values['period-ms'] ?? '60000';
  const periodMs = Number(periodText);
  if (!(Number.isFinite(periodMs) && periodMs > 0)) {
    return {
      kind: 'error',
      message: `--period-ms: expected a number of ms > 0, got "${periodText}"`,
    };
  }
  const limits: GivenLimit[] = [];
  if (values.limits !== undefined) {
    for (const part of values.limits.split(',')) {
      const match = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(part);
      const limit = Number(match?.[2]);
      if (!match || !(Number.isSafeInteger(limit) && limit > 0)) {
        return {
          kind: 'error',
          message: `--limits: expected name=whole number pairs separated by commas, got "${part}"`,
        };
      }
      limits.push({ name: match[1]!, limit, periodMs });
    }
  }
  return {
    kind: 'run',
    request: {
      url,
      ...(values.key !== undefined && { key: values.key }),
      limits,
      watch: values.watch === true,
      json: values.json === true,
    },
  };
}

/** The URL without its password, for messages. */
export function maskUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_, scheme: string, auth: string) =>
    auth.includes(':') ? `${scheme}${auth.slice(0, auth.indexOf(':'))}:***@` : `${scheme}***@`,
  );
}

export function run(argv: readonly string[]): Promise<number> {
  return runParsed(
    parseInspectArgs(argv, process.env),
    { name: 'inspect', usage: inspectUsage },
    ({ request }) => inspect(request),
  );
}

async function inspect(request: InspectRequest): Promise<number> {
  let Redis: typeof import('ioredis').Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch {
    console.error('inspect needs ioredis: npm install ioredis');
    return 2;
  }
  const { inspectRedis } = await import('../inspect-redis.js');
  const redis = new Redis(request.url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // reported where a command fails
  try {
    await redis.connect();
  } catch (error) {
    console.error(`Cannot reach Redis at ${maskUrl(request.url)}: ${(error as Error).message}`);
    redis.disconnect();
    return 1;
  }
  const options = {
    ...(request.key !== undefined && { key: request.key }),
    limits: request.limits,
  };
  try {
    if (!request.watch) {
      const snapshot = await inspectRedis(redis, options);
      console.log(request.json ? JSON.stringify(snapshot, null, 2) : snapshotText(snapshot));
      return 0;
    }
    let stopped = false;
    const stop = () => {
      stopped = true;
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    while (!stopped) {
      const snapshot = await inspectRedis(redis, options);
      if (request.json) console.log(JSON.stringify(snapshot));
      else {
        if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
        console.log(`${snapshotText(snapshot)}\n(every second; Ctrl-C to stop)\n`);
      }
      await sleepUnless(1_000, () => stopped);
    }
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    return 0;
  } catch (error) {
    console.error(`Reading Redis at ${maskUrl(request.url)} failed: ${(error as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

/** Sleeps `ms`, waking early (checked every 50 ms) once `stopped` says so. */
async function sleepUnless(ms: number, stopped: () => boolean): Promise<void> {
  for (let left = ms; left > 0 && !stopped(); left -= 50) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, left)));
  }
}

export function snapshotText(snapshot: InspectSnapshot): string {
  const lines = [`Redis state at ${snapshot.at}`, ''];
  if (snapshot.limiters.length === 0) lines.push('Limiters: none found');
  else {
    const table = new Table({
      head: [
        'limiter',
        'algorithm',
        'limit',
        'available',
        'next slot',
        'held for',
        'ahead',
        'expires in',
      ],
      style: { head: [], border: [], compact: true },
    });
    for (const l of snapshot.limiters) {
      table.push([
        `{${l.prefix}} ${l.name}`,
        l.algorithm,
        l.limit === undefined ? '?' : `${l.limit}/${seconds(l.periodMs ?? 60_000)}`,
        l.available === undefined ? '?' : String(l.available),
        ms(l.nextSlotMs),
        ms(l.heldForMs),
        l.aheadMs === undefined ? '' : ms(l.aheadMs),
        ms(l.ttlMs),
      ]);
    }
    lines.push('Limiters:', table.toString());
  }
  if (snapshot.limiters.some((l) => l.limit === undefined)) {
    lines.push("(a limiter's limit and available: pass --limits; Redis does not keep them)");
  }
  lines.push('');
  if (snapshot.budgets.length === 0) lines.push('Pipeline budgets: none found');
  else {
    const table = new Table({
      head: [
        'budget',
        'provider',
        'class',
        'dimension',
        'limit',
        'available',
        'next slot',
        'queued',
        'held for',
        'adaptive',
      ],
      style: { head: [], border: [], compact: true },
    });
    for (const b of snapshot.budgets) {
      table.push([
        b.budget === undefined
          ? `{${b.prefix}} ${b.name}`
          : `{${b.prefix}} ${b.budget}${b.tenant === undefined ? '' : ` (tenant ${b.tenant})`}`,
        b.provider ?? '',
        b.modelClass ?? '',
        b.dimension ?? '',
        b.limit === undefined ? '?' : `${b.limit}/${seconds(b.periodMs ?? 60_000)}`,
        b.available === undefined ? '?' : String(b.available),
        b.nextSlotMs === undefined ? '?' : ms(b.nextSlotMs),
        String(b.queued),
        ms(b.heldForMs),
        adaptive(b),
      ]);
    }
    lines.push('Pipeline budgets:', table.toString());
    if (snapshot.budgets.some((b) => b.limit === undefined)) {
      lines.push('(a budget without its limits record in Redis: pass --limits for its limit)');
    }
  }
  lines.push('');
  if (snapshot.circuits.length === 0) lines.push('Circuits: none found');
  else {
    const table = new Table({
      head: ['circuit', 'state', 'for', 'probe in', 'opened', 'last failure'],
      style: { head: [], border: [], compact: true },
    });
    for (const c of snapshot.circuits) {
      const f = c.lastFailure;
      table.push([
        c.key,
        c.state,
        ms(c.msSinceChange),
        c.state === 'open' ? ms(c.msUntilHalfOpen) : '',
        `${c.epoch}x`,
        f === undefined
          ? ''
          : `${f.name}${f.status === undefined ? '' : ` ${f.status}`}: ${f.message.slice(0, 60)}`,
      ]);
    }
    lines.push('Circuits:', table.toString());
  }
  if (snapshot.unreadable.length > 0) {
    lines.push(
      '',
      `Skipped ${snapshot.unreadable.length} key(s) named like ours that hold something else:`,
    );
    for (const u of snapshot.unreadable.slice(0, 5)) lines.push(`  ${u.redisKey}: ${u.reason}`);
  }
  return lines.join('\n');
}

/** `1` at the configured limit, else the share in force and of what: `0.75 of 6000`. */
function adaptive(b: BudgetState): string {
  if (b.adaptive === undefined || b.configuredLimit === undefined) return '';
  return b.adaptive === 1 ? '1' : `${b.adaptive} of ${b.configuredLimit}`;
}

function ms(value: number): string {
  if (value === 0) return '0';
  if (value < 1_000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(1)} s`;
}

function seconds(periodMs: number): string {
  return periodMs === 60_000 ? 'min' : `${periodMs / 1000} s`;
}
