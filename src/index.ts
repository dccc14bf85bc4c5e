export { wrap } from 'cockatiel';
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export * from './errors/index.js';
export { SafeEventEmitter } from './events.js';
export * from './limiter/index.js';
