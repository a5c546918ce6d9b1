import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpicamSource } from '../../drivers/camera/rpicam-source';
import { DirectoryCamera } from '../../drivers/camera/sim-sources';
import { loadConfig } from '../../firmware/config/load';
import { checkCamera } from '../../firmware/selftest/camera';
import { runChecks } from '../../firmware/selftest/check';
import { selftestChecks } from '../../firmware/selftest/suite';
import { fixture } from '../helpers/fixtures';
import { PATIENCE_MS } from '../helpers/patience';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-selftest-camera-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rpicam = (script: string) => {
  const bin = join(dir, `cam-${Math.random().toString(36).slice(2)}`);
  writeFileSync(bin, script);
  chmodSync(bin, 0o755);
  return new RpicamSource({ width: 640, height: 480, framerate: 10, backoff: { initialMs: 50, maxMs: 100 }, commands: [bin] });
};

describe('camera self-test', () => {
  test('passes when the camera delivers a frame that decodes, naming its size', async () => {
    const result = await checkCamera(new DirectoryCamera(fixture('faces/non-face'), 10), PATIENCE_MS);
    expect(result.ok).toBe(true);
    expect(result.detail).toMatch(/one \d+x\d+ frame decoded/);
  });

  test('fails with the camera process error and what to do when no frame comes', async () => {
    // The check waits this long for a frame that never comes: long enough for the process to start and fail on a busy machine.
    const result = await checkCamera(rpicam('#!/bin/sh\necho "ERROR: *** no cameras available ***" >&2\nexit 1\n'), 3000);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('no cameras available');
    expect(result.fix).toContain('rpicam-hello --list-cameras');
  });

  test('fails when the stream carries a frame that is not a decodable image', async () => {
    // JPEG start and end markers around junk: the splitter cuts a "frame", the decoder refuses it.
    const script = `#!${process.execPath}\nprocess.stdout.write(Buffer.from([0xff, 0xd8, 1, 2, 3, 4, 5, 0xff, 0xd9]));\nsetTimeout(() => {}, 5000);\n`;
    const result = await checkCamera(rpicam(script), PATIENCE_MS);
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('does not decode');
  });

  test('in the suite: skipped when face recognition is off, run on a directory camera when it is on', async () => {
    const off = join(dir, 'off.json');
    writeFileSync(off, JSON.stringify({ hardware: 'pi', dataDir: 'data', access: { methods: ['card'] } }));
    const offRow = (await runChecks((await selftestChecks(loadConfig(off))).filter((c) => c.name === 'camera')))[0]!;
    expect(offRow).toMatchObject({ ok: true, skipped: true, detail: expect.stringContaining('face recognition is off') });

    const on = join(dir, 'on.json');
    writeFileSync(
      on,
      JSON.stringify({ hardware: 'pi', dataDir: 'data', access: { methods: ['card', 'face'] }, face: { camera: { source: 'directory', path: fixture('faces/non-face') } } }),
    );
    const onRow = (await runChecks((await selftestChecks(loadConfig(on))).filter((c) => c.name === 'camera')))[0]!;
    expect(onRow).toMatchObject({ ok: true, detail: expect.stringContaining('frame decoded') });
  });
});
