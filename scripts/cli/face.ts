import { adminCall, CliError, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parseCommandArgs, positionals, printJson, residentAction, resolveTarget, type Verb, verbCommand } from './admin-client';

export const summary = "enrol a resident's face from the camera (consent first), or delete the template (prints the signed deletion receipt)";

const verbs: Record<string, Verb> = {
  async enrol(args, io) {
    const usage = `postern face enrol RESIDENT_ID [--frames N] ${CONNECTION_HELP}`;
    const { values, positionals: rest } = parseCommandArgs(args, { ...CONNECTION_OPTIONS, frames: { type: 'string' } }, usage);
    const [id] = positionals(rest, ['RESIDENT_ID'], usage);
    const frames = values.frames === undefined ? undefined : Number(values.frames);
    if (frames !== undefined && (!Number.isInteger(frames) || frames < 1 || frames > 20)) throw new CliError(`--frames "${values.frames}" must be a whole number from 1 to 20`, EXIT.usage);
    // The vision pipeline's route (firmware/vision): it refuses without a consent record, or when face is off.
    const target = resolveTarget(values, io.env);
    await adminCall(target, 'POST', '/face/enrol', { residentId: id, check: true });
    io.err('Look at the camera...');
    printJson(io.out, await adminCall(target, 'POST', '/face/enrol', { residentId: id, ...(frames !== undefined ? { frames } : {}) }, 60_000));
    return EXIT.ok;
  },
  delete: residentAction('postern face delete', 'face/delete'),
};

export const run = verbCommand('face', verbs);
