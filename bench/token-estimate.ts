/**
 * How far the default token estimates sit from real counts, on varied texts (bench/fixtures/
 * token-corpus.ts: prose, code, JSON, tables, logs, accented and non-Latin scripts, emoji,
 * base64), split into the half the weights were fitted on and a held-out half.
 *
 * References: OpenAI's o200k_base and cl100k_base through gpt-tokenizer (a dev dependency: the
 * bench says so and skips those columns when it is absent), and the simulator's own rule
 * (`ceil(length / 4)`), which is what the e2e tests charge against. Claude's tokenizer is not
 * public, so the Anthropic estimate has no real reference here.
 *
 * Also whole requests: `describeRequest` against the simulator's prompt count and, for OpenAI,
 * against o200k plus the cookbook's per-message tokens.
 *
 * Prints tables; writes bench-results/token-estimate.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { describeRequest } from '../src/providers/request.js';
import {
  ANTHROPIC_PROFILE,
  CL100K_PROFILE,
  estimateTextTokens,
  O200K_PROFILE,
} from '../src/providers/text-tokens.js';
import { anthropicPromptPieces, countTokens, openaiPromptTokens } from '../src/simulator/tokens.js';
import { type Category, corpus, type Sample } from './fixtures/token-corpus.js';

type Count = (text: string) => number;

/** gpt-tokenizer's encodings, if installed (not a dependency of the package). */
async function loadEncoding(name: string): Promise<Count | undefined> {
  const specifier = `gpt-tokenizer/encoding/${name}`;
  try {
    const mod = (await import(specifier)) as { countTokens: Count };
    return (text) => mod.countTokens(text);
  } catch {
    return undefined;
  }
}

interface ErrorStats {
  readonly samples: number;
  /** Mean of |estimate / reference - 1|. */
  readonly meanAbsError: number;
  /** Sum of estimates over sum of references. */
  readonly totalRatio: number;
  /** Smallest and largest estimate / reference. */
  readonly minRatio: number;
  readonly maxRatio: number;
}

function stats(pairs: readonly (readonly [estimate: number, reference: number])[]): ErrorStats {
  const ratios = pairs.map(([e, r]) => e / r);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    samples: pairs.length,
    meanAbsError: sum(ratios.map((r) => Math.abs(r - 1))) / ratios.length,
    totalRatio: sum(pairs.map(([e]) => e)) / sum(pairs.map(([, r]) => r)),
    minRatio: Math.min(...ratios),
    maxRatio: Math.max(...ratios),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ratio = (x: number) => x.toFixed(2);

function row(label: string, s: ErrorStats): string {
  return `${label.padEnd(44)} n=${String(s.samples).padStart(2)}  mean |err| ${pct(s.meanAbsError).padStart(6)}  total ${ratio(s.totalRatio)}  range ${ratio(s.minRatio)}..${ratio(s.maxRatio)}`;
}

interface Comparison {
  readonly name: string;
  readonly estimate: (s: Sample) => number;
  readonly reference: Count;
}

function compare(samples: readonly Sample[], c: Comparison) {
  const bySplit: Record<string, ErrorStats> = {};
  for (const split of ['fit', 'holdout'] as const) {
    const part = samples.filter((s) => s.split === split);
    bySplit[split] = stats(part.map((s) => [c.estimate(s), c.reference(s.text)] as const));
  }
  const byCategory: Partial<Record<Category, ErrorStats>> = {};
  for (const category of [...new Set(samples.map((s) => s.category))]) {
    const part = samples.filter((s) => s.category === category);
    byCategory[category] = stats(part.map((s) => [c.estimate(s), c.reference(s.text)] as const));
  }
  return { bySplit, byCategory };
}

/** Whole requests built from the corpus: one user message each, a system prompt on some. */
function requestBodies(samples: readonly Sample[]) {
  return samples.map((s, i) => ({
    name: s.name,
    system:
      i % 3 === 0
        ? 'You are a careful assistant. Answer in the language of the question.'
        : undefined,
    text: s.text,
  }));
}

async function main() {
  const samples = corpus();
  const o200k = await loadEncoding('o200k_base');
  const cl100k = await loadEncoding('cl100k_base');
  if (!o200k || !cl100k)
    console.log(
      'gpt-tokenizer is not installed: real-tokenizer columns skipped (npm install --save-dev gpt-tokenizer)\n',
    );
  const est = (profile: typeof O200K_PROFILE) => (s: Sample) => estimateTextTokens(s.text, profile);
  const comparisons: Comparison[] = [];
  if (o200k) {
    comparisons.push({
      name: 'o200k estimate vs o200k',
      estimate: est(O200K_PROFILE),
      reference: o200k,
    });
    comparisons.push({
      name: 'chars/4 vs o200k',
      estimate: (s) => countTokens(s.text),
      reference: o200k,
    });
  }
  if (cl100k)
    comparisons.push({
      name: 'cl100k estimate vs cl100k',
      estimate: est(CL100K_PROFILE),
      reference: cl100k,
    });
  if (o200k)
    comparisons.push({
      name: 'Anthropic estimate vs o200k',
      estimate: est(ANTHROPIC_PROFILE),
      reference: o200k,
    });
  comparisons.push({
    name: 'Anthropic estimate vs chars/4',
    estimate: est(ANTHROPIC_PROFILE),
    reference: countTokens,
  });
  comparisons.push({
    name: 'o200k estimate vs chars/4',
    estimate: est(O200K_PROFILE),
    reference: countTokens,
  });

  const results: Record<string, ReturnType<typeof compare>> = {};
  console.log('Text estimates (ratio = estimate / reference)\n');
  for (const c of comparisons) {
    const r = compare(samples, c);
    results[c.name] = r;
    console.log(row(`${c.name}, fitted half`, r.bySplit.fit as ErrorStats));
    console.log(row(`${c.name}, held out`, r.bySplit.holdout as ErrorStats));
  }
  if (o200k) {
    console.log('\nBy category, o200k estimate vs o200k (all samples)');
    for (const [category, s] of Object.entries(
      results['o200k estimate vs o200k']?.byCategory ?? {},
    ))
      console.log(row(`  ${category}`, s));
    console.log('\nBy category, simulator rule chars/4 vs o200k (all samples)');
    for (const [category, s] of Object.entries(results['chars/4 vs o200k']?.byCategory ?? {}))
      console.log(row(`  ${category}`, s));
  }

  // Whole requests: describeRequest against the simulator's count and (OpenAI) o200k + cookbook.
  const bodies = requestBodies(samples);
  const anthropicPairs: [number, number][] = [];
  const openaiSimPairs: [number, number][] = [];
  const openaiRealPairs: [number, number][] = [];
  for (const b of bodies) {
    const messages = [{ role: 'user', content: b.text }];
    const anthropicBody = {
      model: 'claude-sonnet-4-6',
      max_tokens: 512,
      system: b.system,
      messages,
    };
    const estimate = describeRequest('anthropic', '/v1/messages', anthropicBody).inputEstimate;
    const sim = anthropicPromptPieces({ system: b.system, messages }).reduce(
      (a, p) => a + p.tokens,
      0,
    );
    anthropicPairs.push([estimate, sim]);
    const openaiMessages = b.system
      ? [{ role: 'system', content: b.system }, ...messages]
      : messages;
    const openaiBody = { model: 'gpt-4o', messages: openaiMessages };
    const openaiEstimate = describeRequest(
      'openai',
      '/v1/chat/completions',
      openaiBody,
    ).inputEstimate;
    openaiSimPairs.push([openaiEstimate, openaiPromptTokens({ messages: openaiMessages })]);
    if (o200k) {
      const real = 3 + openaiMessages.reduce((a, m) => a + 3 + o200k(m.content), 0);
      openaiRealPairs.push([openaiEstimate, real]);
    }
  }
  const requests = {
    anthropicVsSimulator: stats(anthropicPairs),
    openaiVsSimulator: stats(openaiSimPairs),
    ...(o200k ? { openaiVsO200kCookbook: stats(openaiRealPairs) } : {}),
  };
  console.log('\nWhole requests (describeRequest inputEstimate / reference)');
  console.log(row('Anthropic vs simulator (chars/4)', requests.anthropicVsSimulator));
  console.log(row('OpenAI vs simulator (chars/4)', requests.openaiVsSimulator));
  if (requests.openaiVsO200kCookbook)
    console.log(row('OpenAI vs o200k + 3/message + 3', requests.openaiVsO200kCookbook));

  // Speed: the estimate runs before every request.
  const big = samples.map((s) => s.text).join('\n');
  const rounds = 50;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) estimateTextTokens(big, O200K_PROFILE);
  const estimateMsPerMb = ((performance.now() - t0) / rounds / big.length) * 1e6;
  let tokenizerMsPerMb: number | undefined;
  if (o200k) {
    const t1 = performance.now();
    for (let i = 0; i < 5; i++) o200k(big);
    tokenizerMsPerMb = ((performance.now() - t1) / 5 / big.length) * 1e6;
  }
  console.log(
    `\nSpeed: estimate ${estimateMsPerMb.toFixed(1)} ms per million characters${tokenizerMsPerMb === undefined ? '' : `, gpt-tokenizer o200k ${tokenizerMsPerMb.toFixed(1)} ms`}`,
  );

  mkdirSync('bench-results', { recursive: true });
  writeFileSync(
    'bench-results/token-estimate.json',
    `${JSON.stringify(
      {
        samples: samples.map((s) => ({
          name: s.name,
          category: s.category,
          split: s.split,
          chars: s.text.length,
          o200k: o200k?.(s.text),
          cl100k: cl100k?.(s.text),
          simulator: countTokens(s.text),
          estimateO200k: estimateTextTokens(s.text, O200K_PROFILE),
          estimateCl100k: estimateTextTokens(s.text, CL100K_PROFILE),
          estimateAnthropic: estimateTextTokens(s.text, ANTHROPIC_PROFILE),
        })),
        text: results,
        requests,
        speed: {
          estimateMsPerMillionChars: estimateMsPerMb,
          tokenizerMsPerMillionChars: tokenizerMsPerMb,
        },
      },
      null,
      2,
    )}\n`,
  );
  console.log('\nwrote bench-results/token-estimate.json');
}

await main();
