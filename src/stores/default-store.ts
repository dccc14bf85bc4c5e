import type { Clock } from '../clock.js';
import { MemoryStore } from './memory-store.js';

/**
 * One in-process store per clock, for limiters made without a `store`: so that limiters written
 * apart can form a group (a group lives in one store) and one key is one budget in the process.
 * Per clock, because a store keeps its schedules in the caller's clock: a key's state read on
 * another clock (each test's ManualClock, say) would be meaningless. With the default
 * `systemClock` this is one store for the whole process.
 */
const stores = new WeakMap<Clock, MemoryStore>();

export function defaultStore(clock: Clock): MemoryStore {
  let store = stores.get(clock);
  if (store === undefined) {
    store = new MemoryStore();
    stores.set(clock, store);
  }
  return store;
}
