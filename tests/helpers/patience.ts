/**
 * How long a test waits for something that should happen: long enough for a machine busy with other
 * work, and every wait ends as soon as the thing happens, so a healthy run is not slowed by it. Tests
 * claim behaviour, not speed; how fast things are is `npm run bench`'s business.
 */
export const PATIENCE_MS = 60_000;
