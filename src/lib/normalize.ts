/**
 * AIQ identifies phones as 10-digit US national numbers without `+1` ("5555550100").
 * Returns null when the input cannot be read as one.
 */
export function normalizePhone(input: string): string | null {
  if (input.length > 64) return null;
  if (!/^[\d\s()+.-]+$/.test(input)) return null;
  let digits = input.replace(/\D/g, '');
  if (digits.length === 11 && digits.startsWith('1')) digits = digits.slice(1);
  if (digits.length !== 10) return null;
  // NANP: area code and exchange never start with 0 or 1.
  if (digits[0] === '0' || digits[0] === '1' || digits[3] === '0' || digits[3] === '1') return null;
  return digits;
}

const EMAIL = /^[^\s@"<>()[\]\\,;:]+@[^\s@"<>()[\]\\,;:]+\.[^\s@"<>()[\]\\,;:.]{2,}$/;

/** Trims and lower-cases an email; null when it is not a plausible address or over 254 characters. */
export function normalizeEmail(input: string): string | null {
  const trimmed = input.trim().toLowerCase();
  if (trimmed.length === 0 || trimmed.length > 254) return null;
  return EMAIL.test(trimmed) ? trimmed : null;
}

/** `******0100`: keeps the last four digits, enough to tell records apart in a log. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return `******${digits.slice(-4)}`;
}

/** `j***@example.com` */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***@${email.slice(at + 1)}`;
}

const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// A US phone in free text: optional +1, then 10 digits with optional separators, not part of a
// longer run of digits or hex (contact IDs are 32 hex characters).
const PHONE_IN_TEXT = /(?<![0-9A-Za-z])(?:\+?1[\s.-]?|%2B1)?\(?[2-9]\d{2}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![0-9A-Za-z])/g;

/** Masks every email and US phone number found in a piece of text (log messages, URLs). */
export function scrubText(text: string): string {
  return text.replace(EMAIL_IN_TEXT, (m) => maskEmail(decodeURIComponent(m))).replace(PHONE_IN_TEXT, (m) => maskPhone(m));
}
