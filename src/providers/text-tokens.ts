/**
 * A fast token estimate for text, without a vocabulary: one pass over the code points, counting
 * words, digit groups, punctuation, line breaks and, for other scripts, characters by script,
 * each with a weight. Profiles hold the weights; `O200K_PROFILE` is fitted to OpenAI's o200k_base
 * tokenizer (measured by bench/token-estimate.ts). Pure: no I/O, no clock.
 */

/** Counts the tokens of a piece of text. Implement it to plug in an exact tokenizer. */
export interface TokenCounter {
  /** Tokens of `text`: a whole number. */
  count(text: string): number;
  /**
   * Optional: the unrounded estimate. Where present, many small pieces (stream deltas) are
   * summed unrounded and rounded once, instead of each piece rounding up.
   */
  measure?(text: string): number;
}

/** Weights of the estimate, in tokens. */
export interface TextTokenProfile {
  /** A run of Latin letters: a word, or one part of a camelCase word. */
  readonly word: number;
  /** A group of up to three digits (BPE vocabularies split numbers in threes). */
  readonly digitGroup: number;
  /** An ASCII punctuation run: the run, plus each character after the first. */
  readonly punctuationRun: number;
  readonly punctuationPerChar: number;
  /** A run of line breaks. */
  readonly newline: number;
  /** A run of two or more spaces or tabs (indentation). */
  readonly indent: number;
  /** A word with accented Latin letters, on top of the word. */
  readonly latinExtended: number;
  /** Per code point, by script. */
  readonly cyrillic: number;
  readonly greek: number;
  readonly arabicHebrew: number;
  readonly indic: number;
  readonly thai: number;
  readonly cjk: number;
  readonly hangul: number;
  /** Emoji and other symbols beyond the Basic Multilingual Plane. */
  readonly astral: number;
  /** Joiners and variation selectors inside emoji sequences. */
  readonly joiner: number;
  /** Any other code point. */
  readonly other: number;
}

/**
 * Fitted to o200k_base (gpt-4o, gpt-4.1, gpt-5, o-series) on the `fit` half of
 * bench/fixtures/token-corpus.ts. The fit weighs an under-estimate twice an over-estimate: a low
 * estimate lets a limiter admit what the provider refuses, a high one only holds capacity back
 * until the settle.
 */
export const O200K_PROFILE: TextTokenProfile = {
  word: 1.18,
  digitGroup: 1.52,
  punctuationRun: 0.47,
  punctuationPerChar: 0.19,
  newline: 1.1,
  indent: 0.75,
  latinExtended: 2,
  cyrillic: 0.37,
  greek: 0.47,
  arabicHebrew: 0.49,
  indic: 0.46,
  thai: 0.55,
  cjk: 0.88,
  hangul: 0.9,
  astral: 3.05,
  joiner: 0.5,
  other: 1,
};

/** Fitted the same way to cl100k_base (gpt-4, gpt-4-turbo, gpt-3.5-turbo). */
export const CL100K_PROFILE: TextTokenProfile = {
  word: 1.18,
  digitGroup: 1.46,
  punctuationRun: 0.91,
  punctuationPerChar: 0,
  newline: 0,
  indent: 0.51,
  latinExtended: 2,
  cyrillic: 0.62,
  greek: 1.05,
  arabicHebrew: 1.08,
  indic: 1.29,
  thai: 1.01,
  cjk: 1.21,
  hangul: 1.54,
  astral: 4.4,
  joiner: 0.5,
  other: 1,
};

/** How far above o200k the Anthropic profile sits at least (an assumption: see below). */
const ANTHROPIC_OVER_O200K = 1.3;

function anthropicProfile(): TextTokenProfile {
  const out: Record<string, number> = {};
  for (const key of Object.keys(O200K_PROFILE) as (keyof TextTokenProfile)[]) {
    out[key] = Math.max(O200K_PROFILE[key] * ANTHROPIC_OVER_O200K, CL100K_PROFILE[key]);
  }
  return out as unknown as TextTokenProfile;
}

/**
 * Claude's tokenizer (Claude 3 and later) is not public, so this profile is an assumption, not a
 * measurement: each weight is the larger of 1.3 times o200k's and cl100k's, so that it errs
 * above. Anthropic describes the Opus 4.7 tokenizer as producing 1.0-1.35 times the tokens of its
 * predecessor. For exact figures, calibrate on real usage (`EstimateCalibration`) or count with
 * Anthropic's `count_tokens` endpoint.
 */
export const ANTHROPIC_PROFILE: TextTokenProfile = anthropicProfile();

// Kinds of run, as small integers (the loop is hot: no strings, no objects).
const NONE = 0;
const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;
const PUNCT = 4;
const SPACE = 5;
const NEWLINE = 6;

/** Estimated tokens of `text` under `profile`: a whole number, 0 only for the empty string. */
export function estimateTextTokens(text: string, profile: TextTokenProfile): number {
  return Math.ceil(measureTextTokens(text, profile));
}

/** The unrounded estimate behind `estimateTextTokens`. */
export function measureTextTokens(text: string, profile: TextTokenProfile): number {
  let total = 0;
  let run: number = NONE;
  let runLength = 0;
  let accented = false;
  const close = () => {
    if (runLength === 0) return;
    switch (run) {
      case LOWER:
      case UPPER:
        total += accented ? profile.word + profile.latinExtended : profile.word;
        accented = false;
        break;
      case DIGIT:
        total += Math.ceil(runLength / 3) * profile.digitGroup;
        break;
      case PUNCT:
        total += profile.punctuationRun + (runLength - 1) * profile.punctuationPerChar;
        break;
      case SPACE:
        // One space merges into the next word; a longer run is indentation.
        if (runLength > 1) total += profile.indent;
        break;
      case NEWLINE:
        total += profile.newline;
        break;
    }
    run = NONE;
    runLength = 0;
  };
  const extend = (kind: number) => {
    if (run !== kind) close();
    run = kind;
    runLength++;
  };
  for (const char of text) {
    const cp = char.codePointAt(0) as number;
    if (cp >= 0x61 && cp <= 0x7a) {
      // Lowercase after uppercase continues the word ("Token"); Upper -> Lower keeps the run.
      if (run === UPPER) {
        run = LOWER;
        runLength++;
      } else extend(LOWER);
    } else if (cp >= 0x41 && cp <= 0x5a) {
      // An uppercase letter after lowercase starts a new part (camelCase).
      if (run === LOWER) close();
      extend(UPPER);
    } else if (isLatinExtendedLetter(cp)) {
      // An accented letter stays inside its word, at a price: "café", "Möwen", "thuyền".
      if (run !== LOWER && run !== UPPER) extend(LOWER);
      else runLength++;
      // Vietnamese syllables (Latin Extended Additional) are whole tokens in current vocabularies.
      if (cp < 0x1e00) accented = true;
    } else if (cp >= 0x30 && cp <= 0x39) extend(DIGIT);
    else if (cp === 0x20 || cp === 0x09) extend(SPACE);
    else if (cp === 0x0a || cp === 0x0d) extend(NEWLINE);
    else if (cp < 0x80) extend(PUNCT);
    else {
      close();
      total += scriptWeight(cp, profile);
    }
  }
  close();
  return total;
}

/** Latin-1 letters (not × ÷), Latin Extended-A/B and Latin Extended Additional (Vietnamese). */
function isLatinExtendedLetter(cp: number): boolean {
  if (cp >= 0xc0 && cp <= 0x24f) return cp !== 0xd7 && cp !== 0xf7;
  return cp >= 0x1e00 && cp <= 0x1eff;
}

function scriptWeight(cp: number, p: TextTokenProfile): number {
  if (cp >= 0x0370 && cp <= 0x03ff) return p.greek;
  if (cp >= 0x0400 && cp <= 0x052f) return p.cyrillic;
  if (cp >= 0x0590 && cp <= 0x06ff) return p.arabicHebrew;
  if (cp >= 0x0900 && cp <= 0x0dff) return p.indic;
  if (cp >= 0x0e00 && cp <= 0x0e7f) return p.thai;
  if (cp >= 0x1100 && cp <= 0x11ff) return p.hangul;
  if (cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f)) return p.joiner;
  if (cp >= 0x3000 && cp <= 0x9fff) return p.cjk;
  if (cp >= 0xac00 && cp <= 0xd7af) return p.hangul;
  if (cp >= 0xf900 && cp <= 0xfaff) return p.cjk;
  if (cp >= 0xff00 && cp <= 0xffef) return p.cjk;
  if (cp >= 0x1f1e6 && cp <= 0x1f1ff) return p.joiner + 0.5;
  if (cp >= 0x20000 && cp <= 0x3ffff) return p.cjk;
  if (cp > 0xffff) return p.astral;
  return p.other;
}

/** A counter that estimates with `profile`. */
export function profileCounter(profile: TextTokenProfile): TokenCounter {
  return {
    count: (text) => estimateTextTokens(text, profile),
    measure: (text) => measureTextTokens(text, profile),
  };
}

/** The default estimate for Claude models (see `ANTHROPIC_PROFILE`: an assumption). */
export const anthropicTokenEstimator: TokenCounter = profileCounter(ANTHROPIC_PROFILE);
/** The default estimate for OpenAI models on o200k_base (gpt-4o and later). */
export const openaiTokenEstimator: TokenCounter = profileCounter(O200K_PROFILE);
/** The estimate for OpenAI models on cl100k_base (gpt-4, gpt-4-turbo, gpt-3.5-turbo). */
export const cl100kTokenEstimator: TokenCounter = profileCounter(CL100K_PROFILE);

/** The estimator for an OpenAI model: cl100k for gpt-4 / gpt-3.5, o200k for the rest. */
export function openaiEstimatorFor(model: string | undefined): TokenCounter {
  return model !== undefined && /^(gpt-4(?![o.])|gpt-3\.5)/.test(model)
    ? cl100kTokenEstimator
    : openaiTokenEstimator;
}
