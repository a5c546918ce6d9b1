import type { VerifiedCommand } from './commands';
import type { CommandTargets } from './targets';

export type CommandOutcome = { ok: true; result: Record<string, unknown> } | { ok: false; reason: string; detail: string };

/** Side effects the dispatcher needs from the link itself rather than from the gate. */
export interface LinkActions {
  requestResync(reason: 'requested'): void;
  republishState(): void;
}

const unsupported = (cmd: string): CommandOutcome => ({ ok: false, reason: 'unsupported', detail: `${cmd} needs a resident store, which this gate does not have wired` });

/** Carries out a command that has already passed verifyCommand and been recorded in the replay cache. */
export async function dispatchCommand(command: VerifiedCommand, targets: CommandTargets, link: LinkActions): Promise<CommandOutcome> {
  const door = () => ({ door: targets.door.snapshot() });
  switch (command.cmd) {
    case 'open':
      if (!targets.door.grant('remote')) return { ok: false, reason: 'refused', detail: 'the door refused the grant (lockdown)' };
      return { ok: true, result: door() };
    case 'hold-unlocked':
      targets.door.setMode('held-unlocked', 'remote');
      return { ok: true, result: door() };
    case 'relock':
      targets.door.setMode('normal', 'remote');
      return { ok: true, result: door() };
    case 'lockdown':
      targets.door.setMode(command.args.on ? 'lockdown' : 'normal', 'remote');
      return { ok: true, result: door() };
    case 'revoke-resident':
      if (!targets.revokeResident) return unsupported(command.cmd);
      return { ok: true, result: { residentId: command.args.residentId, revoked: true, receipt: (await targets.revokeResident(command.args.residentId)) ?? null } };
    case 'withdraw-consent':
      if (!targets.withdrawConsent) return unsupported(command.cmd);
      return { ok: true, result: { residentId: command.args.residentId, receipt: (await targets.withdrawConsent(command.args.residentId)) ?? null } };
    case 'sync':
      if (!targets.credentials) return unsupported(command.cmd);
      link.requestResync('requested');
      return { ok: true, result: { credentialsVersion: targets.credentials.version() } };
    case 'status':
      link.republishState();
      return { ok: true, result: { ...targets.status(), credentialsVersion: targets.credentials?.version() ?? null } };
  }
}
