import { z } from 'zod';

export const ACCESS_METHODS = ['card', 'face'] as const;
export type AccessMethod = (typeof ACCESS_METHODS)[number];
/** Ways in that do not depend on the camera or the model; at least one must be allowed (red line 1). */
export const NON_FACE_METHODS: readonly AccessMethod[] = ['card'];

const limit = (maxFailures: number, windowSeconds: number) =>
  z
    .strictObject({
      maxFailures: z.number().int().min(1).max(10_000).default(maxFailures),
      windowSeconds: z.number().int().min(1).max(86_400).default(windowSeconds),
    })
    .prefault({});

/** The `access` section of the gate config: the gate's policy. */
export const accessSchema = z
  .strictObject({
    methods: z
      .array(z.enum(ACCESS_METHODS))
      .min(1, 'must allow at least one method')
      .default(['card'])
      .refine((m) => !m.includes('face') || m.some((x) => NON_FACE_METHODS.includes(x)), {
        message: `allows face but no non-face method (${NON_FACE_METHODS.join(', ')}); face must never be the only way in (DESIGN red line 1), so add "card"`,
      }),
    rateLimit: z
      .strictObject({
        /** One card (or face) failing this often is refused until its failures age out of the window. */
        perCredential: limit(5, 60),
        /** The whole gate failing this often (card guessing) refuses everyone briefly. */
        perGate: limit(30, 60),
      })
      .prefault({}),
  })
  .prefault({});

export type AccessConfig = z.output<typeof accessSchema>;
