import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JpegFrameSplitter } from '../../drivers/camera/jpeg-splitter';
import { LatestFrameSlot } from '../../drivers/camera/latest-frame';
import { RpicamSource } from '../../drivers/camera/rpicam-source';
import { BenchCamera, DirectoryCamera } from '../../drivers/camera/sim-sources';
import type { CameraFrame, CameraStatus } from '../../drivers/camera/source';
import { fixture } from '../helpers/fixtures';
import { PATIENCE_MS } from '../helpers/patience';

const jpegA = readFileSync(fixture('faces/lfw/Aaron_Peirsol_0001.jpg'));
const jpegB = readFileSync(fixture('faces/lfw/Aaron_Sorkin_0001.jpg'));
const png = readFileSync(fixture('faces/orl/s1_1.png'));

describe('JPEG SOI/EOI splitter', () => {
  const stream = Buffer.concat([Buffer.from([0x00, 0x12, 0xff]), jpegA, jpegB, Buffer.from([0x42]), jpegA]);

  test('one chunk holding several frames and junk yields each frame byte for byte', () => {
    const frames = new JpegFrameSplitter().push(stream);
    expect(frames.map((f) => f.length)).toEqual([jpegA.length, jpegB.length, jpegA.length]);
    expect(frames[0]!.equals(jpegA)).toBe(true);
    expect(frames[1]!.equals(jpegB)).toBe(true);
  });

  test.each([1, 2, 3, 7, 4096])('chunks of %i bytes (markers split across chunks) give the same frames', (size) => {
    const splitter = new JpegFrameSplitter();
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i += size) frames.push(...splitter.push(stream.subarray(i, i + size)));
    expect(frames.length).toBe(3);
    expect(frames[2]!.equals(jpegA)).toBe(true);
  });

  test('a frame that never ends is discarded at the size limit, and the stream recovers', () => {
    const splitter = new JpegFrameSplitter(1000);
    expect(splitter.push(Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(2000, 0x11)]))).toEqual([]);
    expect(splitter.discarded).toBe(1);
    expect(splitter.push(jpegB)[0]!.equals(jpegB)).toBe(true);
  });
});

describe('newest frame wins', () => {
  const frame = (at: number): CameraFrame => ({ bytes: Buffer.from([1, 2, 3]), contentType: 'image/jpeg', receivedAt: at });

  test('a newer frame replaces a waiting one, whose bytes are zeroed', () => {
    const slot = new LatestFrameSlot(500);
    const old = frame(0);
    slot.put(old);
    const fresh = frame(10);
    slot.put(fresh);
    expect(slot.take(20)).toBe(fresh);
    expect([...old.bytes]).toEqual([0, 0, 0]);
    expect(slot.take(20)).toBeUndefined();
    expect(slot.dropped).toBe(1);
  });

  test('a stale frame is dropped and zeroed', () => {
    const slot = new LatestFrameSlot(500);
    const f = frame(0);
    slot.put(f);
    expect(slot.take(501)).toBeUndefined();
    expect([...f.bytes]).toEqual([0, 0, 0]);
  });
});

describe('camera simulators', () => {
  test('the bench camera repeats a pushed JPEG or PNG while held, and refuses other bodies naming why', async () => {
    // On a fake clock, so the count of frames is the camera's doing and not how promptly a busy machine runs timers.
    jest.useFakeTimers();
    const cam = new BenchCamera(50);
    const frames: CameraFrame[] = [];
    try {
      cam.start((f) => frames.push(f), () => undefined);
      expect(() => cam.push(Buffer.from('hello'), 'image/jpeg')).toThrow('not a JPEG or PNG');
      expect(() => cam.push(png, 'image/jpeg')).toThrow('content-type is image/jpeg but the body is png');
      cam.push(png, 'image/png', 120);
      await jest.advanceTimersByTimeAsync(300);
      await cam.stop();
    } finally {
      jest.useRealTimers();
    }
    // Every 20 ms for the 120 ms it was held, and none after.
    expect(frames.length).toBeGreaterThanOrEqual(6);
    expect(frames.length).toBeLessThanOrEqual(7);
    expect(frames[0]!.contentType).toBe('image/png');
    expect(frames[0]!.bytes.equals(png)).toBe(true);
  });

  test('the directory camera loops over an .mjpeg file, and names a missing source', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postern-cam-'));
    try {
      writeFileSync(join(dir, 'clip.mjpeg'), Buffer.concat([jpegA, jpegB]));
      const cam = new DirectoryCamera(join(dir, 'clip.mjpeg'), 100);
      const frames: CameraFrame[] = [];
      cam.start((f) => frames.push(f), () => undefined);
      for (const deadline = Date.now() + PATIENCE_MS; frames.length < 3 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
      await cam.stop();
      expect(frames.length).toBeGreaterThanOrEqual(3);
      expect(frames[1]!.bytes.equals(jpegB)).toBe(true);
      expect(frames[2]!.bytes.equals(jpegA)).toBe(true);
      const statuses: CameraStatus[] = [];
      new DirectoryCamera(join(dir, 'missing'), 10).start(() => undefined, (s) => statuses.push(s));
      expect(statuses[0]).toEqual({ state: 'failed', reason: expect.stringContaining('missing') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rpicam-vid backend', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-rpicam-'));
    // Stands in for rpicam-vid: checks the arguments, writes two MJPEG frames in odd chunks to stdout, then dies.
    const fake = join(dir, 'fake-rpicam-vid');
    writeFileSync(
      fake,
      `#!${process.execPath}
const fs = require('fs');
const args = process.argv.slice(2).join(' ');
if (args !== '-n -t 0 --codec mjpeg --width 640 --height 480 --framerate 10 -o -') { process.stderr.write('bad args: ' + args + '\\n'); process.exit(2); }
const data = Buffer.concat([fs.readFileSync(${JSON.stringify(fixture('faces/lfw/Aaron_Peirsol_0001.jpg'))}), fs.readFileSync(${JSON.stringify(fixture('faces/lfw/Aaron_Sorkin_0001.jpg'))})]);
for (let i = 0; i < data.length; i += 1000) process.stdout.write(data.subarray(i, i + 1000));
process.stderr.write('ERROR: *** camera disconnected ***\\n');
process.stdout.end(() => process.exit(1));
`,
    );
    chmodSync(fake, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('falls back from a missing binary, splits frames, and restarts with doubling backoff after a crash', async () => {
    const source = new RpicamSource({
      width: 640,
      height: 480,
      framerate: 10,
      backoff: { initialMs: 50, maxMs: 400 },
      commands: [join(dir, 'no-such-rpicam-vid'), join(dir, 'fake-rpicam-vid')],
    });
    const frames: CameraFrame[] = [];
    const statuses: CameraStatus[] = [];
    source.start((f) => frames.push(f), (s) => statuses.push(s));
    const deadline = Date.now() + PATIENCE_MS;
    while (statuses.filter((s) => s.state === 'failed').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await source.stop();
    expect(frames.length).toBeGreaterThanOrEqual(4);
    expect(frames[0]!.bytes.equals(jpegA)).toBe(true);
    expect(frames[1]!.bytes.equals(jpegB)).toBe(true);
    const failures = statuses.filter((s): s is Extract<CameraStatus, { state: 'failed' }> => s.state === 'failed');
    expect(failures[0]!.reason).toContain('camera disconnected');
    expect(failures[0]!.reason).toContain('restarting in 50 ms');
    expect(failures[1]!.reason).toContain('restarting in 50 ms'); // frames flowed again, so the backoff was reset
    expect(statuses[0]).toEqual({ state: 'running' });
  });

  test('a binary that keeps failing backs off 50, 100, 200, 400, 400 ms', async () => {
    const failing = join(dir, 'always-fails');
    writeFileSync(failing, '#!/bin/sh\necho "no cameras available" >&2\nexit 1\n');
    chmodSync(failing, 0o755);
    const source = new RpicamSource({ width: 640, height: 480, framerate: 10, backoff: { initialMs: 50, maxMs: 400 }, commands: [failing] });
    const reasons: string[] = [];
    source.start(() => undefined, (s) => s.state === 'failed' && reasons.push(s.reason));
    const deadline = Date.now() + PATIENCE_MS;
    while (reasons.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await source.stop();
    expect(reasons.slice(0, 5).map((r) => Number(/restarting in (\d+) ms/.exec(r)?.[1]))).toEqual([50, 100, 200, 400, 400]);
    expect(reasons[0]).toContain('no cameras available');
  });
});
