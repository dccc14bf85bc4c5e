export { wrap } from 'cockatiel';
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export * from './errors/index.js';
