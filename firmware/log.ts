import pino from 'pino';

export type Logger = pino.Logger;

/**
 * JSON lines on stdout, which journald stores as-is. Callers log hashed ids only; the redact list is a
 * second line of defence for fields that must never appear even by mistake.
 */
export function createLogger(level: string = process.env.POSTERN_LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'postern' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['uid', '*.uid', 'template', '*.template', 'frame', '*.frame', 'image', '*.image'], censor: '[redacted]' },
    },
    destination,
  );
}
