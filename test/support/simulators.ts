/**
 * Simulators a test file starts, closed after each test: `const simulator = simulatorsClosedAfterEach();`
 * at the top of the file, then `await simulator({ provider: 'anthropic', ... })` in a test.
 */
import { afterEach } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';

export function simulatorsClosedAfterEach(): (
  options: Parameters<typeof startSimulator>[0],
) => Promise<Simulator> {
  const sims: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });
  return async (options) => {
    const sim = await startSimulator(options);
    sims.push(sim);
    return sim;
  };
}
