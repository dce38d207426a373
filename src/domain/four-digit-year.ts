/**
 * Whether a time's year has four digits (0000 to 9999), as RFC 3339 times do: JavaScript reads and
 * writes years past them (±YYYYYY), which a reader of RFC 3339, such as NATS with a start time,
 * refuses. A time a user gives that hookd passes on is checked here first.
 */
export function hasFourDigitYear(date: Date): boolean {
  const year = date.getUTCFullYear();
  return year >= 0 && year <= 9999;
}
