/** A seeded pseudo-random stream (mulberry32) with uniform integers and standard normals. */
export class Random {
  private state: number;
  private spare: number | undefined;

  /** `seed`: any integer; the same seed gives the same stream. */
  constructor(seed = 0) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi], both included (Python's random.randint). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal N(0, 1) (Box-Muller). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** `count` standard normals. */
  normals(count: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.normal();
    return out;
  }
}

/** A seed for one image's random draws, from the run's seed, the image's pixels and the job's number: the same image gets the same draws whatever batch it is in. */
export function jobSeed(seed: number, pixels: Float32Array, job: number): number {
  // FNV-1a over the 8-bit pixel values, then the seed and the job number.
  let h = 0x811c9dc5;
  const mix = (v: number) => (h = Math.imul(h ^ (v & 0xff), 0x01000193));
  for (let i = 0; i < pixels.length; i++) mix(pixels[i]);
  for (const v of [seed, seed >>> 8, seed >>> 16, seed >>> 24, job, job >>> 8]) mix(v);
  return h >>> 0;
}
