/**
 * `llm-resilience <command>`: commands are data (name, summary, module); each module is loaded
 * only when its command runs. Importing this file has no side effects: the executable is bin.ts.
 */

export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  /** Loads the command's module on demand. */
  readonly load: () => Promise<{ run(argv: readonly string[]): Promise<number> }>;
}

export const commands: readonly CliCommand[] = [
  {
    name: 'demo',
    summary: 'pace a burst of calls through a limiter (the default when no command is given)',
    load: () => import('./commands/demo.js'),
  },
  {
    name: 'simulate',
    summary: 'send the same traffic through llm-resilience and its peers against the simulator',
    load: () => import('./commands/simulate.js'),
  },
  {
    name: 'simulator',
    summary: 'run the Anthropic/OpenAI provider simulator (rate limits, faults) until Ctrl-C',
    load: () => import('./commands/simulator.js'),
  },
  {
    name: 'plan',
    summary: 'which limit binds for your traffic, the calls per minute that fit, and the options',
    load: () => import('./commands/plan.js'),
  },
  {
    name: 'inspect',
    summary: 'the live state of the limiters, budgets and circuits shared through Redis (--watch)',
    load: () => import('./commands/inspect.js'),
  },
];

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: llm-resilience <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `llm-resilience <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name = 'demo', ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  const module = await command.load();
  return module.run(rest);
}
