export interface ProvisionOptions {
  root: string;
  dryRun: boolean;
  source?: string;
  site?: string;
  gate?: string;
  hardware?: 'pi' | 'sim' | 'auto';
  broker?: string;
  mqttUsername?: string;
  mqttPasswordFile?: string;
  caFile?: string;
  siteKey?: string;
  operatorKeys: string[];
  /** Files holding the site root's and the recovery key's public keys (cloud.siteRoot, cloud.siteRecovery). */
  siteRoot?: string;
  siteRecovery?: string;
  skipDeps: boolean;
  noStart: boolean;
  interactive: boolean;
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: scripts/provision/provision.sh [options]

Installs Postern on this Raspberry Pi (or, with --root, into a staging tree). Safe to re-run: it changes
only what differs and never replaces existing keys. Values not given as flags are taken from an existing
/etc/postern/config.json, then asked for when run on a terminal.

  --site ID                 site id (MQTT topic level: a-z 0-9 - _)
  --gate ID                 this gate's id
  --hardware pi|sim|auto    default pi
  --broker URL              mqtts://host:8883 (or mqtt://); "none" for a gate without a cloud link
  --mqtt-username NAME      broker login; default <site>/<gate>
  --mqtt-password-file FILE first line is the broker password (empty and default passwords are refused)
  --ca-file FILE            CA bundle for the broker's TLS certificate
  --site-key FILE           the site's card-hashing key, from another gate of the site (base64)
  --operator-key FILE       an operator's Ed25519 public key (base64), trusted with every scope; repeat for several
  --site-root FILE          the site root's public key (postern remote root keygen): keys it certifies may
                            do what their certificate allows
  --site-recovery FILE      the site's recovery public key (postern remote recovery keygen): the only key
                            that may rotate the site root
  --root DIR                stage into DIR: no systemctl, no raspi-config, accounts written to DIR/etc
  --dry-run                 print every action without doing any
  --skip-deps               do not run npm ci --omit=dev (the image builder installs dependencies)
  --no-start                enable the service but do not start it
  --non-interactive         never prompt (also when standard input is not a terminal)
  --source DIR              built source tree to install from (default: the one this script is in)
  -h, --help                this text
`;

const VALUE_FLAGS = {
  '--root': 'root',
  '--source': 'source',
  '--site': 'site',
  '--gate': 'gate',
  '--broker': 'broker',
  '--mqtt-username': 'mqttUsername',
  '--mqtt-password-file': 'mqttPasswordFile',
  '--ca-file': 'caFile',
  '--site-key': 'siteKey',
  '--site-root': 'siteRoot',
  '--site-recovery': 'siteRecovery',
} as const;

export function parseOptions(argv: readonly string[], stdinIsTty: boolean): ProvisionOptions {
  const o: ProvisionOptions = { root: '/', dryRun: false, operatorKeys: [], skipDeps: false, noStart: false, interactive: stdinIsTty, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag in VALUE_FLAGS) o[VALUE_FLAGS[flag as keyof typeof VALUE_FLAGS]] = value();
    else if (flag === '--hardware') {
      const v = value();
      if (v !== 'pi' && v !== 'sim' && v !== 'auto') throw new UsageError(`--hardware ${v}: use pi, sim or auto`);
      o.hardware = v;
    } else if (flag === '--operator-key') o.operatorKeys.push(value());
    else if (flag === '--dry-run') o.dryRun = true;
    else if (flag === '--skip-deps') o.skipDeps = true;
    else if (flag === '--no-start') o.noStart = true;
    else if (flag === '--non-interactive') o.interactive = false;
    else if (flag === '-h' || flag === '--help') o.help = true;
    else throw new UsageError(`unknown option ${arg} (see --help)`);
  }
  if (o.root !== '/' && !o.root.startsWith('/')) throw new UsageError(`--root ${o.root}: give an absolute path`);
  return o;
}
