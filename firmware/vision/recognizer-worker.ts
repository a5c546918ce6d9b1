import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { decodeImage, rotateQuarter, type RgbImage } from './image';
import { PresenceGate } from './presence-gate';
import { FaceRecognizer } from './recognizer';
import { ownedWhole, type AnalyseRequest, type WorkerData, type WorkerReply } from './recognizer-protocol';

type Post = (reply: WorkerReply, transfer?: ArrayBuffer[]) => void;

/**
 * The recognizer's own thread, started by remote-recognizer.ts: model load, warm-up and each frame's
 * inference take from tens of milliseconds to seconds, which on the daemon's thread would hold up GPIO
 * edges, NFC polling and MQTT. The presence gate's cheap look runs here too, so an idle gate costs the
 * daemon's thread only the hand-over of each frame. Frames arrive by transfer and are zeroed once
 * judged; nothing here writes anywhere or opens a socket.
 */
function serve(port: MessagePort): void {
  const post: Post = (reply, transfer = []) => port.postMessage(reply, transfer);
  const data = workerData as WorkerData;
  FaceRecognizer.load(data).then(
    ({ recognizer, backend }) => {
      const presence = data.presence ? new PresenceGate(data.presence, performance.now()) : null;
      port.on('message', (req: AnalyseRequest) => judge(recognizer, presence, req, post));
      post({ type: 'ready', backend, dimensions: recognizer.dimensions });
    },
    (err: Error) => post({ type: 'load-failed', name: err.name, message: err.message }),
  );
}

function judge(recognizer: FaceRecognizer, presence: PresenceGate | null, req: AnalyseRequest, post: Post): void {
  const pixels: RgbImage[] = [];
  try {
    const gated = presence !== null && req.gate !== undefined;
    if (gated && !presence.look(req.bytes, req.contentType, performance.now(), req.gate!.wake)) {
      return post({ type: 'analysis', analysis: null, presence: presence.report });
    }
    pixels.push(decodeImage(req.bytes, req.contentType));
    pixels.push(rotateQuarter(pixels[0]!, req.turns));
    const analysis = recognizer.analyse(pixels[1]!);
    // Someone is in view whenever a face was found, even one refused for its pose or as a photo.
    if (gated) presence.analysed(analysis.kind !== 'no-face', performance.now());
    const report = gated ? presence.report : null;
    if (analysis.kind !== 'face') return post({ type: 'analysis', analysis, presence: report });
    const embedding = ownedWhole(analysis.embedding);
    if (embedding !== analysis.embedding) analysis.embedding.fill(0);
    post({ type: 'analysis', analysis: { ...analysis, embedding }, presence: report }, [embedding.buffer as ArrayBuffer]);
  } catch (err) {
    post({ type: 'analyse-failed', message: (err as Error).message });
  } finally {
    req.bytes.fill(0);
    for (const p of pixels) p.data.fill(0);
  }
}

if (!parentPort) throw new Error('recognizer-worker.js runs as a worker thread, started by remote-recognizer');
serve(parentPort);
