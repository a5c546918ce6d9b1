import { LatestFrameSlot } from '../../drivers/camera/latest-frame';
import type { CameraFrame, CameraSource, CameraStatus } from '../../drivers/camera/source';
import type { EventBus } from '../events/bus';
import type { MethodHealth } from '../health';
import type { Logger } from '../log';
import type { TemplateEntry, TemplateChange } from '../store/store';
import { matchRule, type FaceConfig } from './config';
import { confirmVotes, type FrameVote } from './confirm';
import { judgeMatch, l2Normalise, TemplateIndex } from './matcher';
import type { FrameAnalysis } from './recognizer';
import type { PresenceMode } from './presence';
import type { PresenceReport } from './presence-gate';
import type { AnalyseRequest, JudgedFrame } from './recognizer-protocol';
import type { RecognizerStatus } from './remote-recognizer';

export interface FaceGateDeps {
  /** The RemoteRecognizer: the presence gate and inference run off the event loop, one frame at a time. */
  recognizer: {
    judge(frame: AnalyseRequest): Promise<JudgedFrame>;
    readonly dimensions: number;
    onStatus(listener: (status: RecognizerStatus) => void): () => void;
  };
  camera: CameraSource;
  templates: {
    loadTemplates(): TemplateEntry[];
    loadTemplate(residentId: string): Float32Array | undefined;
    onTemplatesChanged(listener: (change: TemplateChange) => void): () => void;
  };
  /** The access decision for a confirmed match (AccessService.presentFace): it emits the granted/denied event. */
  presentFace(match: { residentId: string; score: number }): unknown;
  /** Throws (naming why) when a resident may not be enrolled now: unknown, revoked or without consent. */
  checkEnrolable(residentId: string): void;
  /** Stores the template through the consent ledger, which refuses without consent. */
  saveTemplate(residentId: string, embedding: Float32Array): void;
  bus: EventBus;
  health: MethodHealth;
  log: Logger;
  config: FaceConfig;
}

export interface EnrolResult {
  residentId: string;
  frames: number;
  /** Lowest cosine similarity of a frame to the averaged template. */
  consistency: number;
}

interface Enrolment {
  residentId: string;
  need: number;
  embeddings: Float32Array[];
  lastRejection: string;
  resolve(result: EnrolResult): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Enrolment that could not be done: the message says why, for the operator. */
export class EnrolError extends Error {
  override readonly name = 'EnrolError';
}

/**
 * The face way in: camera frames → recognizer → 1:N match → k-of-n confirmation → access decision;
 * and enrolment, which borrows the same frames. Frames and decoded pixels are zeroed as soon as they are
 * judged; only embeddings (in the matcher, from the encrypted store) outlive a frame.
 */
export class FaceGate {
  private readonly index: TemplateIndex;
  private readonly slot: LatestFrameSlot;
  private votes: { at: number; vote: FrameVote; score: number | null }[] = [];
  private cooldownUntil = 0;
  private lastSpoofEventAt = -Infinity;
  private draining: Promise<void> | undefined;
  private lastFrameAt = performance.now();
  private cameraFailed: string | null = null;
  private recognizerFailed: string | null = null;
  private lossTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private enrolment: Enrolment | undefined;
  private stopped = false;
  private readonly rule: { threshold: number; margin: number };
  private presenceMode: PresenceMode | undefined;
  /** Frames analysed in full, and frames the presence gate only looked at. */
  framesJudged = 0;
  framesLooked = 0;

  constructor(private readonly deps: FaceGateDeps) {
    this.index = new TemplateIndex(deps.recognizer.dimensions);
    this.slot = new LatestFrameSlot(deps.config.camera.staleMs);
    this.rule = matchRule(deps.config);
  }

  get templateCount(): number {
    return this.index.size;
  }

  hasTemplate(residentId: string): boolean {
    return this.index.has(residentId);
  }

  start(): void {
    for (const t of this.deps.templates.loadTemplates()) {
      this.addTemplate(t.residentId, t.embedding);
      t.embedding.fill(0);
    }
    this.unsubscribe = [
      this.deps.templates.onTemplatesChanged((change) => this.onTemplateChange(change)),
      this.deps.recognizer.onStatus((status) => this.onRecognizerStatus(status)),
    ];
    this.deps.camera.start(
      (frame) => this.onFrame(frame),
      (status) => this.onCameraStatus(status),
    );
    if (this.deps.camera.continuous) {
      const timeout = this.deps.config.camera.lossTimeoutMs;
      this.lossTimer = setInterval(() => this.checkCameraLoss(), Math.max(100, timeout / 2));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.lossTimer) clearInterval(this.lossTimer);
    for (const u of this.unsubscribe) u();
    this.enrolment?.reject(new EnrolError('the gate is stopping'));
    await this.deps.camera.stop();
    // The frame in flight finishes before the caller disposes of the recognizer under it.
    await this.draining;
    this.slot.clear();
    this.index.clear();
  }

  /** Captures `frames` good frames of the person in front of the camera and stores their mean as the template. */
  enrol(residentId: string, frames = this.deps.config.enrol.frames): Promise<EnrolResult> {
    this.deps.checkEnrolable(residentId);
    if (this.enrolment) throw new EnrolError(`an enrolment (resident ${this.enrolment.residentId}) is already in progress`);
    if (!Number.isInteger(frames) || frames < 1 || frames > 20) throw new EnrolError(`frames must be a whole number from 1 to 20, got ${frames}`);
    const timeoutMs = this.deps.config.enrol.timeoutMs;
    return new Promise<EnrolResult>((resolve, reject) => {
      const finish = () => {
        clearTimeout(enrolment.timer);
        for (const e of enrolment.embeddings) e.fill(0);
        this.enrolment = undefined;
      };
      const enrolment: Enrolment = {
        residentId,
        need: frames,
        embeddings: [],
        lastRejection: 'no face seen',
        resolve: (r) => {
          finish();
          resolve(r);
        },
        reject: (err) => {
          finish();
          reject(err);
        },
        timer: setTimeout(() => {
          enrolment.reject(new EnrolError(`only ${enrolment.embeddings.length} of ${frames} good frames in ${timeoutMs} ms (last problem: ${enrolment.lastRejection}); nothing was stored`));
        }, timeoutMs),
      };
      this.enrolment = enrolment;
    });
  }

  private onTemplateChange(change: TemplateChange): void {
    if (change.kind === 'deleted') {
      this.index.remove(change.residentId);
      return;
    }
    const embedding = this.deps.templates.loadTemplate(change.residentId);
    if (!embedding) return;
    this.addTemplate(change.residentId, embedding);
    embedding.fill(0);
  }

  /** A template made by an earlier embedding model (a software update changed it) cannot be compared: it is skipped, loudly. */
  private addTemplate(residentId: string, embedding: Float32Array): void {
    if (embedding.length !== this.index.dimensions) {
      this.deps.log.warn({ residentId, dims: embedding.length, expected: this.index.dimensions }, 'face template from another embedder skipped; re-enrol');
      this.deps.bus.emit({ type: 'face.template-skipped', reason: 'other-embedder', data: { residentId, dims: embedding.length, expected: this.index.dimensions } });
      return;
    }
    this.index.upsert(residentId, embedding);
  }

  private onCameraStatus(status: CameraStatus): void {
    if (status.state === 'running') {
      this.cameraFailed = null;
      this.lastFrameAt = performance.now();
    } else {
      this.cameraFailed = `camera: ${status.reason}`;
      this.deps.log.warn({ reason: status.reason }, 'camera failed');
    }
    this.reportHealth();
  }

  private onRecognizerStatus(status: RecognizerStatus): void {
    if (status.state === 'running') {
      this.recognizerFailed = null;
      this.deps.log.info('face recognizer running again');
    } else {
      this.recognizerFailed = `recognizer: ${status.reason}`;
      this.deps.log.error({ reason: status.reason }, 'face recognizer failed; cards keep working');
    }
    this.reportHealth();
  }

  /** Face is ok only while both the camera and the recognizer are. */
  private reportHealth(): void {
    const problem = this.cameraFailed ?? this.recognizerFailed;
    if (problem === null) this.deps.health.set('face', 'ok');
    else this.deps.health.set('face', 'degraded', problem);
  }

  private checkCameraLoss(): void {
    const silentMs = performance.now() - this.lastFrameAt;
    if (this.cameraFailed === null && silentMs > this.deps.config.camera.lossTimeoutMs) {
      this.deps.health.set('face', 'degraded', `camera: no frame for ${Math.round(silentMs)} ms`);
    }
  }

  private onFrame(frame: CameraFrame): void {
    if (this.stopped) {
      frame.bytes.fill(0);
      return;
    }
    this.lastFrameAt = performance.now();
    if (this.deps.health.get('face') !== 'ok') this.reportHealth();
    if (this.recognizerFailed !== null) {
      // Nothing to judge it with until the worker is back.
      frame.bytes.fill(0);
      if (this.enrolment) this.enrolment.lastRejection = this.recognizerFailed;
      return;
    }
    this.slot.put(frame);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /**
   * Judges the newest frame until none waits. Frames that arrive meanwhile replace each other in the
   * slot and are never queued; the event loop is free while the worker runs the models.
   */
  private async drain(): Promise<void> {
    // One camera chunk can hold several frames: let them all land, so the newest is the one judged.
    await new Promise((resolve) => setImmediate(resolve));
    for (let frame = this.nextFrame(); frame; frame = this.nextFrame()) {
      try {
        await this.judge(frame);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'frame could not be judged');
      } finally {
        // Bytes the worker took over (a transferred buffer) read as empty here, and a detached view refuses fill.
        if (frame.bytes.length > 0) frame.bytes.fill(0);
      }
    }
  }

  private nextFrame(): CameraFrame | undefined {
    return this.stopped || this.recognizerFailed !== null ? undefined : this.slot.take();
  }

  private async judge(frame: CameraFrame): Promise<void> {
    const turns = (this.deps.config.camera.rotate / 90) as 0 | 1 | 2 | 3;
    // An enrolment needs every frame, whatever the scene looks like.
    const gate = this.enrolment ? { wake: 'enrol' } : {};
    const { analysis, presence } = await this.deps.recognizer.judge({ bytes: frame.bytes, contentType: frame.contentType, turns, gate });
    if (presence && !this.stopped) this.notePresence(presence);
    if (!analysis) {
      this.framesLooked++;
      return;
    }
    try {
      if (this.stopped) return; // the gate stopped while the worker ran: no decision any more
      this.framesJudged++;
      if (this.enrolment) this.collectForEnrolment(this.enrolment, analysis);
      else this.decide(analysis, performance.now());
    } finally {
      if (analysis.kind === 'face') analysis.embedding.fill(0);
    }
  }

  /** One event per change of mode, never per frame: an active period lasts at least quietMs. */
  private notePresence(presence: PresenceReport): void {
    if (presence.mode === this.presenceMode) return;
    this.presenceMode = presence.mode;
    this.deps.bus.emit({ type: 'face.presence', reason: presence.reason, data: { state: presence.mode } });
  }

  private decide(analysis: FrameAnalysis, now: number): void {
    const { match } = this.deps.config;
    if (now < this.cooldownUntil) return;
    this.votes = this.votes.filter((v) => now - v.at <= match.windowMs);
    if (analysis.kind === 'no-face') return;
    if (analysis.kind === 'rejected') {
      if (analysis.reason === 'spoof-suspected' && now - this.lastSpoofEventAt > match.windowMs) {
        this.lastSpoofEventAt = now;
        this.deps.bus.emit({ type: 'face.rejected', reason: 'spoof-suspected', data: { method: 'face' } });
      }
      return;
    }
    const verdict = judgeMatch(this.index.search(analysis.embedding), this.rule);
    this.votes.push({ at: now, vote: verdict.matched ? verdict.residentId : null, score: verdict.score });
    const confirmation = confirmVotes(
      this.votes.map((v) => v.vote),
      match.confirmK,
      match.confirmN,
    );
    if (confirmation.outcome === 'pending') return;
    const scores = this.votes.filter((v) => confirmation.outcome !== 'match' || v.vote === confirmation.residentId).map((v) => v.score ?? -1);
    const score = Math.round(Math.max(...scores) * 1000) / 1000;
    this.votes = [];
    this.cooldownUntil = now + match.cooldownMs;
    if (confirmation.outcome === 'match') {
      this.deps.presentFace({ residentId: confirmation.residentId, score });
    } else {
      this.deps.bus.emit({ type: 'access.denied', reason: 'unknown', data: { method: 'face', score, why: verdict.matched ? 'not-confirmed' : verdict.reason } });
    }
  }

  private collectForEnrolment(enrolment: Enrolment, analysis: FrameAnalysis): void {
    if (analysis.kind !== 'face') {
      enrolment.lastRejection = analysis.kind === 'no-face' ? 'no face seen' : `${analysis.reason} (${analysis.detail})`;
      return;
    }
    enrolment.embeddings.push(Float32Array.from(analysis.embedding));
    if (enrolment.embeddings.length < enrolment.need) return;
    const mean = new Float32Array(this.index.dimensions);
    for (const e of enrolment.embeddings) for (let i = 0; i < mean.length; i++) mean[i]! += e[i]!;
    l2Normalise(mean);
    const consistency = Math.min(...enrolment.embeddings.map((e) => e.reduce((s, x, i) => s + x * mean[i]!, 0)));
    if (consistency < this.deps.config.enrol.minConsistency) {
      mean.fill(0);
      enrolment.reject(new EnrolError(`the ${enrolment.need} frames do not agree (lowest similarity to their mean ${consistency.toFixed(2)} < ${this.deps.config.enrol.minConsistency}): was more than one person in view? Nothing was stored`));
      return;
    }
    try {
      this.deps.saveTemplate(enrolment.residentId, mean);
      enrolment.resolve({ residentId: enrolment.residentId, frames: enrolment.need, consistency: Math.round(consistency * 1000) / 1000 });
    } catch (err) {
      enrolment.reject(err as Error);
    } finally {
      mean.fill(0);
    }
  }
}
