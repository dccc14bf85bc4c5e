/**
 * Seeded pseudo-random numbers (mulberry32): the simulator draws output lengths, latencies,
 * faults and ids from these so that two runs with the same seed and the same request order
 * behave identically. Pure: no clock, no `Math.random`.
 */
export type Random = () => number;

/** Returns a generator of floats in [0, 1) fully determined by `seed`. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Independent stream per purpose, so that enabling faults does not shift the output lengths
 * drawn for the same requests.
 */
export function deriveSeed(seed: number, stream: string): number {
  let h = (seed >>> 0) ^ 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) {
    h ^= stream.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Integer in [min, max], both inclusive. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** An id such as `msg_01AbC...`: a prefix and `length` characters drawn from `random`. */
export function randomId(random: Random, prefix: string, length = 24): string {
  let out = prefix;
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return out;
}

/** An id such as `req_` and `length` lowercase hex digits drawn from `random` (OpenAI style). */
export function randomHexId(random: Random, prefix: string, length: number): string {
  let out = prefix;
  for (let i = 0; i < length; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}
