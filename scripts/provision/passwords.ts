/** Passwords that ship with brokers, images and tutorials: an attacker tries these first. */
const DEFAULT_PASSWORDS = new Set([
  'password', 'passw0rd', 'changeme', 'change-me', 'default', 'secret', 'admin', 'administrator', 'root',
  'raspberry', 'pi', 'postern', 'mqtt', 'mosquitto', 'guest', 'public', 'test', '12345678', '123456789',
  '1234567890', 'qwertyuiop', 'letmein',
]);
export const MIN_PASSWORD_LENGTH = 12;

/** Why a broker password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, username: string): string | null {
  if (password.trim() === '') return 'the broker password is empty';
  const lower = password.toLowerCase();
  if (DEFAULT_PASSWORDS.has(lower)) return 'the broker password is a well-known default';
  if (username !== '' && lower.includes(username.toLowerCase())) return 'the broker password contains the user name';
  if (password.length < MIN_PASSWORD_LENGTH) return `the broker password is shorter than ${MIN_PASSWORD_LENGTH} characters`;
  return null;
}
