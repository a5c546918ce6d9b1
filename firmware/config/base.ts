import { z } from 'zod';

/** Site and gate ids become MQTT topic levels, so they may not contain `/`, `+`, `#` or spaces. */
export const topicLevel = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 characters of a-z, 0-9, "-" or "_", starting with a letter or digit');

export const gateSchema = z
  .strictObject({
    site: topicLevel.default('sim-site'),
    id: topicLevel.default('sim-gate'),
  })
  .prefault({});

export const hardwareSchema = z.enum(['auto', 'sim', 'pi']).default('auto');

const ms = (min: number, max: number, dflt: number) => z.number().int().min(min).max(max).default(dflt);

export const doorSchema = z
  .strictObject({
    /** How long a grant keeps the strike unlocked. */
    pulseMs: ms(500, 60_000, 5000),
    /** Relock as soon as the door has opened and closed again, instead of waiting for the pulse to end. */
    relockOnClose: z.boolean().default(true),
    /** Door left open this long after a legitimate opening raises `door.held-open`. */
    heldOpenMs: ms(1000, 600_000, 15_000),
    /**
     * fail-secure: an electric strike, locked when unpowered (relay energised = unlocked).
     * fail-safe: a maglock, unlocked when unpowered (relay energised = locked).
     */
    lockType: z.enum(['fail-secure', 'fail-safe']).default('fail-secure'),
    /** The door may open this long after the pulse ends without counting as forced (people are slow). */
    forcedGraceMs: ms(0, 30_000, 1000),
  })
  .prefault({});

const outputPin = (pin: number) =>
  z.strictObject({ pin: z.number().int().min(0).max(53).default(pin), activeLow: z.boolean().default(false) }).prefault({});
const inputPin = (pin: number, activeLow: boolean) =>
  z
    .strictObject({
      pin: z.number().int().min(0).max(53).default(pin),
      activeLow: z.boolean().default(activeLow),
      debounceMs: ms(0, 1000, 30),
    })
    .prefault({});

/** BCM pin numbers; defaults match docs/HARDWARE.md. */
export const gpioSchema = z
  .strictObject({
    /** gpiochip label to find the base of (`pinctrl-bcm2711` on a Pi 4, `pinctrl-rp1` on a Pi 5), or `auto`. */
    chip: z.string().min(1).default('auto'),
    sysfsRoot: z.string().min(1).default('/sys/class/gpio'),
    relay: outputPin(17),
    ledGreen: outputPin(22),
    ledRed: outputPin(23),
    buzzer: outputPin(24),
    /** Reed contact to ground with the internal pull-up: closed door reads low. */
    contact: inputPin(27, true),
    /** Request-to-exit button to ground: pressed reads low. */
    exit: inputPin(5, true),
    /** Tamper switch, normally closed to ground: opening the case reads high. */
    tamper: inputPin(6, false),
  })
  .prefault({});

export const benchSchema = z
  .strictObject({
    /** Defaults to on in sim mode and off on real hardware. */
    enabled: z.boolean().optional(),
    port: z.number().int().min(0).max(65535).default(8080),
  })
  .prefault({});

export const adminSchema = z
  .strictObject({
    /** Unix socket of the admin API; relative paths are under dataDir. */
    socket: z.string().min(1).default('admin.sock'),
  })
  .prefault({});
