/**
 * Small deterministic randomness for simulations: the same seed gives the same fleet and the
 * same decisions, so a failing run can be repeated exactly.
 */

/** mulberry32: a 32-bit PRNG, fast and good enough for simulations (not for cryptography). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the UTF-16 code units of `text`, 32 bits. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A number in [0, 1) that depends only on `seed` and `key`: decisions about one command do
 * not depend on the order in which commands arrive, and are the same after a restart.
 */
export function uniformFor(seed: number, key: string): number {
  return mulberry32(hash32(key, hash32(String(seed))))();
}

/** A permutation of 0…n-1 (Fisher–Yates), the same for the same seed. */
export function seededPermutation(n: number, seed: number): number[] {
  const random = mulberry32(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
