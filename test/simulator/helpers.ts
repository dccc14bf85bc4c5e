import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach } from 'vitest';
import {
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from '../../src/simulator/index.js';

const running: Simulator[] = [];

/** Starts a simulator on a free port of 127.0.0.1 and closes it after the test. */
export async function start(options: SimulatorOptions): Promise<Simulator> {
  const sim = await startSimulator({ port: 0, ...options });
  running.push(sim);
  return sim;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.close()));
});

export function anthropicClient(
  sim: Simulator,
  options: { apiKey?: string; timeout?: number } = {},
) {
  return new Anthropic({ baseURL: sim.url, apiKey: 'test', maxRetries: 0, ...options });
}

export function openaiClient(sim: Simulator, options: { apiKey?: string; timeout?: number } = {}) {
  return new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'test', maxRetries: 0, ...options });
}

/** The rejection of `promise`; fails the test when it resolves. */
export async function rejectionOf(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a result');
}
