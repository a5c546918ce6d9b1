/** Seeded so that a failing fuzz case can be replayed. */
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

export interface Fuzzer {
  int(n: number): number;
  bytes(n: number): Buffer;
  pick<T>(xs: readonly T[]): T;
  /** Random damage of the kinds a noisy link or a hostile card does: flipped bits, replaced, dropped, inserted bytes, cut short. */
  mutate(frame: Uint8Array, times: number): Buffer;
}

export function fuzzer(seed: number): Fuzzer {
  const rng = mulberry32(seed);
  const int = (n: number) => Math.floor(rng() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return {
    int,
    bytes,
    pick: (xs) => xs[int(xs.length)]!,
    mutate(frame, times) {
      let b = Buffer.from(frame);
      for (let i = 0; i < times; i++) {
        const at = int(b.length);
        switch (int(5)) {
          case 0:
            b[at] = b[at]! ^ (1 << int(8));
            break;
          case 1:
            b[at] = int(256);
            break;
          case 2:
            b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
            break;
          case 3:
            b = Buffer.concat([b.subarray(0, at), bytes(1), b.subarray(at)]);
            break;
          default:
            b = b.subarray(0, at);
        }
      }
      return b;
    },
  };
}
