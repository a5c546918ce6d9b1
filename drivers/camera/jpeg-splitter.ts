const SOI = 0xd8;
const EOI = 0xd9;

/**
 * Cuts an MJPEG byte stream (back-to-back JPEGs, as `rpicam-vid --codec mjpeg -o -` writes) into whole
 * JPEG frames at the SOI/EOI markers, whatever the chunking of the pipe. Entropy-coded data stuffs every
 * 0xFF with 0x00, so FF D9 inside a frame can only be its end marker. Bytes before an SOI are skipped;
 * a frame growing past `maxFrameBytes` is discarded (a corrupt stream must not eat memory).
 */
export class JpegFrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  private inFrame = false;
  /** Where to resume scanning for EOI, so a long frame is not rescanned on every chunk. */
  private scanFrom = 0;
  discarded = 0;

  constructor(private readonly maxFrameBytes = 8 * 1024 * 1024) {}

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      if (!this.inFrame) {
        const start = findMarker(this.buf, SOI, 0);
        if (start < 0) {
          // Keep a trailing 0xFF: it may be the first half of an SOI split across chunks.
          this.buf = this.buf.length > 0 && this.buf[this.buf.length - 1] === 0xff ? this.buf.subarray(this.buf.length - 1) : Buffer.alloc(0);
          return frames;
        }
        this.buf = this.buf.subarray(start);
        this.inFrame = true;
        this.scanFrom = 2;
      }
      const end = findMarker(this.buf, EOI, this.scanFrom);
      if (end < 0) {
        if (this.buf.length > this.maxFrameBytes) {
          this.discarded++;
          this.buf = Buffer.alloc(0);
          this.inFrame = false;
        } else {
          this.scanFrom = Math.max(2, this.buf.length - 1);
        }
        return frames;
      }
      frames.push(Buffer.from(this.buf.subarray(0, end + 2)));
      this.buf = this.buf.subarray(end + 2);
      this.inFrame = false;
    }
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
    this.inFrame = false;
  }
}

function findMarker(buf: Buffer, marker: number, from: number): number {
  for (let i = buf.indexOf(0xff, from); i >= 0 && i + 1 < buf.length; i = buf.indexOf(0xff, i + 1)) {
    if (buf[i + 1] === marker) return i;
  }
  return -1;
}
