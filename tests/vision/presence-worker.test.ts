import { readFileSync } from 'node:fs';
import type { CameraFrame, CameraSource, CameraStatus } from '../../drivers/camera/source';
import { EventBus, type GateEvent } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import { defaultFaceConfig, defaultRecognizerOptions } from '../../firmware/vision/config';
import { FaceGate } from '../../firmware/vision/face-gate';
import { decodeImage } from '../../firmware/vision/image';
import type { PresenceReport } from '../../firmware/vision/presence-gate';
import type { FrameAnalysis } from '../../firmware/vision/recognizer';
import type { AnalyseRequest, JudgedFrame } from '../../firmware/vision/recognizer-protocol';
import { RemoteRecognizer } from '../../firmware/vision/remote-recognizer';
import { GateScene } from '../../scripts/bench/scenes';
import { fixture } from '../helpers/fixtures';

const photo = (rel: string) => readFileSync(fixture(`faces/${rel}`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('presence gating in the recognizer worker (real models)', () => {
  test('once idle, empty frames are only looked at; the first frame that shows the face is analysed in full and finds it', async () => {
    const scene = new GateScene(640, 480, 5);
    const empty = [0, 1, 2].map((i) => scene.frame({ light: 1 + 0.01 * i, noise: 3 }));
    const withFace = scene.frame({ light: 1.01, noise: 3, person: scene.centred(decodeImage(photo('lfw/Aaron_Peirsol_0001.jpg')), 2) });
    const { recognizer } = await RemoteRecognizer.load(defaultRecognizerOptions(), { presence: { heartbeatMs: 600_000, quietMs: 300, motionThreshold: 0.01 } });
    // Each call moves its own copy of the bytes to the worker.
    const judge = (bytes: Buffer) => recognizer.judge({ bytes: Uint8Array.from(bytes), contentType: 'image/jpeg', turns: 0, gate: {} });
    try {
      // A new worker analyses every frame until the scene has been still for quietMs.
      let judged: JudgedFrame;
      let n = 0;
      do judged = await judge(empty[n++ % 3]!);
      while (judged.presence?.mode !== 'idle' && n < 200);
      expect(judged).toEqual({ analysis: null, presence: { mode: 'idle', reason: 'quiet' } });

      for (let i = 0; i < 6; i++) expect((await judge(empty[i % 3]!)).analysis).toBeNull();
      const first = await judge(withFace);
      expect(first.presence).toEqual({ mode: 'active', reason: 'motion' });
      expect(first.analysis?.kind).toBe('face');
      // The face keeps it active on the next, identical frame: nothing moved, but someone is there.
      expect((await judge(withFace)).analysis?.kind).toBe('face');

      // analyse() is never gated, and sends no presence.
      expect((await recognizer.analyse({ bytes: Uint8Array.from(empty[0]!), contentType: 'image/jpeg', turns: 0 })).kind).toBe('no-face');
    } finally {
      await recognizer.dispose();
    }
  }, 120_000);

  test('without presence options the worker analyses every frame it is sent, gate or not', async () => {
    const scene = new GateScene(320, 240, 5);
    const frame = scene.frame({ light: 1, noise: 3 });
    const { recognizer } = await RemoteRecognizer.load(defaultRecognizerOptions());
    try {
      for (let i = 0; i < 3; i++) expect(await recognizer.judge({ bytes: Uint8Array.from(frame), contentType: 'image/jpeg', turns: 0, gate: {} })).toEqual({ analysis: expect.objectContaining({ kind: 'no-face' }), presence: null });
    } finally {
      await recognizer.dispose();
    }
  }, 120_000);
});

/** A camera the test pushes frames through, and a recognizer that answers from a script. */
function scriptedGate(replies: (req: AnalyseRequest) => JudgedFrame) {
  let push: ((frame: CameraFrame) => void) | undefined;
  const camera: CameraSource = {
    description: 'test camera',
    continuous: false,
    start(onFrame: (frame: CameraFrame) => void, onStatus: (status: CameraStatus) => void) {
      push = onFrame;
      onStatus({ state: 'running' });
    },
    async stop() {},
  };
  const requests: AnalyseRequest[] = [];
  const bus = new EventBus();
  const saved: string[] = [];
  const gate = new FaceGate({
    recognizer: {
      dimensions: 4,
      onStatus: () => () => undefined,
      async judge(req) {
        requests.push({ ...req, bytes: new Uint8Array(0) });
        return replies(req);
      },
    },
    camera,
    templates: { loadTemplates: () => [], loadTemplate: () => undefined, onTemplatesChanged: () => () => undefined },
    presentFace: () => undefined,
    checkEnrolable: () => undefined,
    saveTemplate: (id) => saved.push(id),
    bus,
    health: new MethodHealth(),
    log: createLogger('silent'),
    config: defaultFaceConfig(),
  });
  gate.start();
  /** Shows one frame and waits until the gate has had the answer and acted on it. */
  const show = async () => {
    const before = gate.framesJudged + gate.framesLooked;
    push!({ bytes: Buffer.from([0xff, 0xd8, 0xff, requests.length]), contentType: 'image/jpeg', receivedAt: performance.now() });
    await until('the frame to be judged', () => gate.framesJudged + gate.framesLooked > before);
  };
  return { gate, bus, requests, saved, show };
}

describe('the face gate and the presence gate', () => {
  const noFace: FrameAnalysis = { kind: 'no-face', timings: {} };
  const face = (): FrameAnalysis => ({
    kind: 'face',
    embedding: Float32Array.from([1, 0, 0, 0]),
    detection: { box: { x: 0, y: 0, width: 10, height: 10 }, score: 0.9, keypoints: [] } as never,
    measures: {} as never,
    liveness: 0.9,
    timings: {},
  });

  test('one face.presence event per change of mode, not per frame; frames only looked at are not judged', async () => {
    const modes: PresenceReport[] = [
      { mode: 'active', reason: 'start' },
      { mode: 'active', reason: 'start' },
      { mode: 'idle', reason: 'quiet' },
      { mode: 'idle', reason: 'quiet' },
      { mode: 'idle', reason: 'quiet' },
      { mode: 'active', reason: 'motion' },
      { mode: 'active', reason: 'motion' },
    ];
    let i = 0;
    const { gate, bus, show } = scriptedGate(() => {
      const presence = modes[i++]!;
      return { analysis: presence.mode === 'idle' ? null : noFace, presence };
    });
    const events: GateEvent[] = [];
    bus.subscribe((e) => e.type === 'face.presence' && events.push(e));
    for (let k = 0; k < modes.length; k++) await show();
    expect(events.map((e) => [e.reason, e.data])).toEqual([
      ['start', { state: 'active' }],
      ['quiet', { state: 'idle' }],
      ['motion', { state: 'active' }],
    ]);
    expect(gate.framesJudged).toBe(4);
    expect(gate.framesLooked).toBe(3);
    await gate.stop();
  });

  test('while an enrolment runs every frame is sent with a wake-up, so a still, idle scene is analysed', async () => {
    const { gate, requests, saved, show } = scriptedGate((req) => ({ analysis: req.gate?.wake === 'enrol' ? face() : null, presence: { mode: req.gate?.wake ? 'active' : 'idle', reason: req.gate?.wake ?? 'quiet' } }));
    await show();
    expect(requests[0]!.gate).toEqual({});
    const enrolled = gate.enrol('r-1', 2);
    await show();
    await show();
    await expect(enrolled).resolves.toMatchObject({ residentId: 'r-1', frames: 2 });
    expect(requests.slice(1).map((r) => r.gate)).toEqual([{ wake: 'enrol' }, { wake: 'enrol' }]);
    expect(saved).toEqual(['r-1']);
    await show();
    expect(requests[3]!.gate).toEqual({});
    await gate.stop();
  });
});
