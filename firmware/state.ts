/**
 * The gate's state as one JSON object, assembled from whoever owns each part (door, method health,
 * cloud link, store counts...). The bench's /api/state and the retained MQTT `state` both read it.
 */
export class StateRegistry {
  private readonly parts = new Map<string, () => unknown>();

  provide(key: string, read: () => unknown): void {
    if (this.parts.has(key)) throw new Error(`state part "${key}" is already provided`);
    this.parts.set(key, read);
  }

  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, read] of this.parts) out[key] = read();
    return out;
  }
}
