import { InvalidConfigError } from './invalid-config-error.js';
import { hasErrorCode } from './llm-resilience-error.js';

/**
 * An options object holds a key the factory does not know: most often a typo (`bursts`) or a name
 * from another library (`retries`), which would otherwise be ignored in plain JavaScript and leave
 * the default in force. The message names the nearest known option when one is close.
 */
export class UnknownOptionError extends InvalidConfigError {
  override readonly code = 'UNKNOWN_OPTION';

  constructor(
    /** The unknown key, dotted when nested (`'sampling.treshold'`). */
    option: string,
    received: unknown,
    /** The factory or call that refused it, e.g. `'gcra()'`. */
    readonly where: string,
    /** The nearest known option, when one is close enough to be meant. */
    readonly suggestion: string | undefined,
    /** Every option `where` knows at that level. */
    readonly known: readonly string[],
  ) {
    const prefix = option.includes('.') ? `${option.slice(0, option.lastIndexOf('.') + 1)}` : '';
    const hint = suggestion === undefined ? '' : ` did you mean \`${prefix}${suggestion}\`?`;
    super(
      option,
      `one of ${known.join(', ')}`,
      received,
      `Unknown option \`${option}\` of ${where}:${hint} (known options: ${known.join(', ')})`,
    );
  }
}

export const isUnknownOptionError = hasErrorCode<UnknownOptionError>('UNKNOWN_OPTION');
