/** Deterministic PRNG (mulberry32) for the reservoir sample. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Reservoir sampling: a uniform sample of `size` items from a stream of unknown length in
 * O(size) memory. `offer` the n-th item (1-based count of items offered so far).
 */
export function reservoir<T>(size: number, random: () => number): { items: T[]; offer(item: T, n: number): void } {
  const items: T[] = [];
  return {
    items,
    offer(item, n) {
      if (items.length < size) items.push(item);
      else {
        const j = Math.floor(random() * n);
        if (j < size) items[j] = item;
      }
    },
  };
}
