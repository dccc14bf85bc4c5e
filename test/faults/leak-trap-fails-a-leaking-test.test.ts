/**
 * The suite's trap (test/setup/leak-trap.ts) is installed in this worker and records what leaks;
 * the leak is fed to its listener directly, since a real one would also fail the run (vitest
 * counts unhandled errors too).
 */
import { expect, it } from 'vitest';
import {
  onUncaughtException,
  onUnhandledRejection,
  recordLeak,
  takeLeaks,
} from '../setup/leak-trap.js';

it('the trap listens to unhandledRejection and uncaughtException in every test worker', () => {
  expect(process.listeners('unhandledRejection')).toContain(onUnhandledRejection);
  expect(process.listeners('uncaughtException')).toContain(onUncaughtException);
});

it('a leak reaches the trap, which hands it over once', () => {
  const error = new Error('nobody awaited me');
  recordLeak('unhandledRejection', error);
  const leaks = takeLeaks();
  expect(leaks).toEqual([{ kind: 'unhandledRejection', error }]);
  expect(takeLeaks()).toEqual([]);
});
