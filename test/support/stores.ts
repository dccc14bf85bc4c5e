/** Stores for tests of the limiter's handling of a store it must wait for. */
import { MemoryStore } from '../../src/index.js';
import type { Store } from '../../src/limiter/store.js';

/**
 * A store the limiter treats as remote (it is no MemoryStore, so every answer is awaited), that
 * answers from a MemoryStore. Tests override the operation whose answer they want to control.
 */
export class AwaitedStore implements Store {
  protected readonly memory = new MemoryStore();
  reserve(...args: Parameters<Store['reserve']>): ReturnType<Store['reserve']> {
    return this.memory.reserve(...args);
  }
  refund(...args: Parameters<Store['refund']>): ReturnType<Store['refund']> {
    return this.memory.refund(...args);
  }
  charge(...args: Parameters<Store['charge']>): ReturnType<Store['charge']> {
    return this.memory.charge(...args);
  }
  hold(...args: Parameters<Store['hold']>): ReturnType<Store['hold']> {
    return this.memory.hold(...args);
  }
  look(...args: Parameters<Store['look']>): ReturnType<Store['look']> {
    return this.memory.look(...args);
  }
}
