import { z } from 'zod';
import { RpicamSource } from '../../drivers/camera/rpicam-source';
import { BenchCamera, DirectoryCamera } from '../../drivers/camera/sim-sources';
import type { CameraSource } from '../../drivers/camera/source';
import { AdminError, parseBody, type AdminApi } from '../admin/router';
import type { BenchServer } from '../bench/server';
import type { EventBus } from '../events/bus';
import type { MethodHealth } from '../health';
import { HttpError, readBody, sendJson } from '../http/json';
import type { Logger } from '../log';
import { StoreError, type GateStore } from '../store/store';
import { presenceOptionsFrom, recognizerOptionsFrom, type FaceConfig } from './config';
import { EnrolError, FaceGate } from './face-gate';
import { RemoteRecognizer } from './remote-recognizer';

export interface StartFaceOptions {
  config: FaceConfig;
  /** Face runs only when the access policy allows it (`access.methods` includes "face"). */
  enabled: boolean;
  mode: 'sim' | 'pi';
  store: GateStore;
  /** AccessService.presentFace. */
  presentFace(match: { residentId: string; score: number }): unknown;
  /** ConsentLedger.enrolTemplate: refuses without consent. */
  enrolTemplate(residentId: string, embedding: Float32Array): void;
  admin: AdminApi;
  bench: BenchServer | null;
  bus: EventBus;
  health: MethodHealth;
  log: Logger;
  /** Tests pass a recognizer loader to simulate a model that fails to load, or to keep a handle on the worker. */
  loadRecognizer?: typeof RemoteRecognizer.load;
}

export interface StartedFace {
  description: string;
  /** True for rpicam-vid, false for the bench or directory simulators. */
  realCamera: boolean;
  /** Settles when the models are loaded and frames are being judged, or when that failed (face degraded). */
  ready: Promise<FaceGate | null>;
  stop(): Promise<void>;
}

const enrolBody = z.strictObject({
  residentId: z.string().min(1, 'residentId is required'),
  frames: z.number().int('frames must be a whole number').min(1, 'frames must be at least 1').max(20, 'frames must be at most 20').optional(),
  /** Answer whether enrolment could start now, without capturing: the CLI asks before it tells anyone to look at the camera. */
  check: z.boolean().optional(),
});

/** What the bench camera takes; the push also checks that the bytes are what the type says. */
const CAMERA_TYPES = ['image/jpeg', 'image/png'];

export function cameraFor(config: FaceConfig, mode: 'sim' | 'pi'): CameraSource {
  const c = config.camera;
  const source = c.source === 'auto' ? (mode === 'sim' ? 'bench' : 'rpicam') : c.source;
  if (source === 'bench') return new BenchCamera(c.framerate);
  if (source === 'directory') return new DirectoryCamera(c.path!, c.framerate);
  return new RpicamSource({ width: c.width, height: c.height, framerate: c.framerate, backoff: c.restartBackoff });
}

/**
 * Face recognition, when the access policy allows it. The models load in the background, so the gate
 * (and its cards) start at once; a model that fails its sha256 or will not load leaves face degraded
 * with the reason, and everything else running (red line 1).
 */
export function startFaceRecognition(o: StartFaceOptions): StartedFace | null {
  if (!o.enabled) {
    o.health.set('face', 'disabled');
    o.admin.route('POST', '/face/enrol', () => {
      throw new AdminError(409, 'face recognition is off on this gate (access.methods does not include "face")');
    });
    return null;
  }
  const camera = cameraFor(o.config, o.mode);
  let gate: FaceGate | null = null;
  let failure: string | null = null;
  let stopped = false;
  let disposeRecognizer: (() => Promise<void>) | undefined;
  o.health.set('face', 'degraded', 'starting: loading models');

  if (camera instanceof BenchCamera && o.bench) {
    o.bench.route('POST', '/api/sim/camera', async (req, res, url) => {
      const holdMs = Number(url.searchParams.get('holdMs') ?? 2000);
      if (!Number.isInteger(holdMs) || holdMs < 1 || holdMs > 60_000) throw new HttpError(400, `holdMs=${url.searchParams.get('holdMs')} must be a whole number of ms from 1 to 60000`);
      const body = await readBody(req, 8 * 1024 * 1024);
      try {
        camera.push(body, String(req.headers['content-type'] ?? ''), holdMs);
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      } finally {
        body.fill(0);
      }
      sendJson(res, 200, { ok: true, holdMs });
    }, { accepts: CAMERA_TYPES });
  }

  o.admin.route('POST', '/face/enrol', async (req) => {
    const body = parseBody(enrolBody, req.body);
    if (!gate) throw new AdminError(503, `face recognition is not running: ${failure ?? 'models are still loading'}`);
    try {
      if (body.check) {
        checkEnrolable(o.store, body.residentId);
        return { ready: true };
      }
      return await gate.enrol(body.residentId, body.frames);
    } catch (err) {
      if (err instanceof EnrolError) throw new AdminError(422, err.message);
      throw err;
    }
  });

  // The models load and run in a worker thread: a frame's inference never holds up a card tap.
  const load = o.loadRecognizer ?? RemoteRecognizer.load;
  const ready = load(recognizerOptionsFrom(o.config), { presence: presenceOptionsFrom(o.config) }).then(
    async ({ recognizer, backend, loadMs }) => {
      if (stopped) {
        await recognizer.dispose();
        return null;
      }
      gate = new FaceGate({
        recognizer,
        camera,
        templates: o.store,
        presentFace: o.presentFace,
        checkEnrolable: (id) => checkEnrolable(o.store, id),
        saveTemplate: o.enrolTemplate,
        bus: o.bus,
        health: o.health,
        log: o.log,
        config: o.config,
      });
      gate.start();
      o.log.info({ backend, loadMs: Math.round(loadMs), templates: gate.templateCount, camera: camera.description }, 'face recognition running');
      disposeRecognizer = () => recognizer.dispose();
      return gate;
    },
    (err: unknown) => {
      failure = `model: ${(err as Error).message}`;
      o.health.set('face', 'degraded', failure);
      o.log.error({ reason: failure }, 'face recognition unavailable; cards keep working');
      return null;
    },
  );

  return {
    description: camera.description,
    realCamera: camera instanceof RpicamSource,
    ready,
    async stop() {
      stopped = true;
      await ready;
      await gate?.stop();
      await disposeRecognizer?.();
    },
  };
}

function checkEnrolable(store: GateStore, residentId: string): void {
  const r = store.getResident(residentId);
  if (!r) throw new StoreError('not-found', `no resident with id ${residentId}`);
  if (r.revokedAt) throw new StoreError('conflict', `resident ${residentId} is revoked`);
  if (!r.consent) throw new StoreError('no-consent', `resident ${residentId} has no consent record; record consent first (postern consent grant), no consent, no template`);
}
