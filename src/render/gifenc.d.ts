// Types for the parts of gifenc 1.0.3 (which ships none) that netvis uses.
declare module 'gifenc' {
  type Palette = number[][];
  interface GifEncoder {
    writeFrame(
      index: Uint8Array,
      width: number,
      height: number,
      opts?: { palette?: Palette; delay?: number; repeat?: number },
    ): void;
    finish(): void;
    bytes(): Uint8Array;
  }
  const gifenc: {
    GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): GifEncoder;
    quantize(rgba: Uint8Array, maxColors: number, opts?: { format?: 'rgb565' | 'rgb444' }): Palette;
    applyPalette(rgba: Uint8Array, palette: Palette, format?: 'rgb565' | 'rgb444'): Uint8Array;
  };
  export default gifenc;
}
