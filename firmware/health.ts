export type MethodStatus = 'ok' | 'degraded' | 'disabled';
export type MethodName = 'card' | 'face' | 'exit' | 'cloud';

/** Health of each way in (and of the cloud link), as shown in /api/state and the retained MQTT state. */
export class MethodHealth {
  private readonly status = new Map<MethodName, { status: MethodStatus; reason: string }>();
  private readonly listeners = new Set<(name: MethodName, status: MethodStatus, reason: string) => void>();

  set(name: MethodName, status: MethodStatus, reason = ''): void {
    const prev = this.status.get(name);
    if (prev && prev.status === status && prev.reason === reason) return;
    this.status.set(name, { status, reason });
    for (const l of this.listeners) l(name, status, reason);
  }

  get(name: MethodName): MethodStatus | undefined {
    return this.status.get(name)?.status;
  }

  snapshot(): Record<string, MethodStatus> {
    return Object.fromEntries([...this.status].map(([k, v]) => [k, v.status]));
  }

  onChange(listener: (name: MethodName, status: MethodStatus, reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
