import { AdminApi } from '../../firmware/admin/router';
import { EventBus } from '../../firmware/events/bus';
import { MethodHealth } from '../../firmware/health';
import { createLogger } from '../../firmware/log';
import type { GateStore } from '../../firmware/store/store';
import { faceSchema } from '../../firmware/vision/config';
import type { StartFaceOptions } from '../../firmware/vision/start';

/** startFaceRecognition's options for a simulated gate with face on; a test overrides what it watches. */
export function faceOptions(over: Partial<StartFaceOptions> = {}): StartFaceOptions {
  return {
    config: faceSchema.parse({ camera: { source: 'bench' } }),
    enabled: true,
    mode: 'sim',
    store: undefined as unknown as GateStore,
    presentFace: () => undefined,
    enrolTemplate: () => undefined,
    admin: new AdminApi(() => undefined),
    bench: null,
    bus: new EventBus(),
    health: new MethodHealth(),
    log: createLogger('silent'),
    ...over,
  };
}
