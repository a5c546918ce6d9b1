import type { CommandName } from './commands';

/**
 * What an operator certificate may authorise (docs/PROTOCOL.md §2a). Keys in `cloud.operatorKeys` hold
 * every scope; a certified key holds only those its certificate lists.
 * `passes` is reserved for visitor passes: certificates may carry it, but no message needs it yet.
 */
export const SCOPES = ['door-open', 'door-mode', 'credentials', 'privacy', 'passes'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * The one scope each command needs; a Record, so a new command does not compile until it is given one.
 * `status` only reads (and republishes) the door state and sits with the door; `sync` asks the cloud for
 * the credential set and sits with the credentials it concerns.
 */
export const COMMAND_SCOPE: Readonly<Record<CommandName, Scope>> = {
  open: 'door-open',
  relock: 'door-open',
  status: 'door-open',
  'hold-unlocked': 'door-mode',
  lockdown: 'door-mode',
  'revoke-resident': 'credentials',
  sync: 'credentials',
  'withdraw-consent': 'privacy',
};

/** Full credential sets and deltas on `credentials`. */
export const CREDENTIALS_SCOPE: Scope = 'credentials';
