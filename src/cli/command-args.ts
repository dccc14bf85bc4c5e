/**
 * What every command does with its arguments before its own checks, in one place: node:util's
 * `parseArgs`, strict, no positionals, with `-h`/`--help`; and what `run` does with the outcome
 * of a command's parse: print the usage and exit 0, print the refusal with a pointer to --help
 * and exit 2, or go on with the request.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** An option that takes a value, kept as text: each command checks and converts it. */
export const TEXT = { type: 'string' } as const;

type Config<O extends ParseArgsOptionsConfig> = {
  args: string[];
  options: O & typeof HELP;
  strict: true;
  allowPositionals: false;
};

/** The values `parseArgs` gives for options `O` (and `help`). */
export type OptionValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<Config<O>>
>['values'];

/** A command's parse that is not a request to run: help asked, or arguments refused. */
export type NotARun =
  | { readonly kind: 'help' }
  | { readonly kind: 'error'; readonly message: string };

/**
 * `argv` read against `options` (and `--help`): the values, or `help`, or an `error` naming what
 * parseArgs refused (an unknown option, a missing value). Never throws.
 */
export function parseCommandOptions<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
): NotARun | { readonly kind: 'values'; readonly values: OptionValues<O> } {
  let values: OptionValues<O>;
  try {
    values = parseArgs({
      args: [...argv],
      options: { ...options, ...HELP },
      strict: true,
      allowPositionals: false,
    }).values as OptionValues<O>;
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  if ((values as { help?: boolean }).help) return { kind: 'help' };
  return { kind: 'values', values };
}

/**
 * Runs a command's parsed arguments: `go` with a request; else the usage (exit 0) or the refusal
 * and where to find the options (exit 2).
 */
export async function runParsed<R extends { readonly kind: 'run' }>(
  parsed: NotARun | R,
  command: { readonly name: string; readonly usage: string },
  go: (request: R) => Promise<number>,
): Promise<number> {
  if (parsed.kind === 'help') {
    console.log(command.usage);
    return 0;
  }
  if (parsed.kind === 'error') {
    console.error(
      `${parsed.message}\n\nRun \`llm-resilience ${command.name} --help\` for the options.`,
    );
    return 2;
  }
  return go(parsed as R);
}
