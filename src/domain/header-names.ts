/** HTTP header names are case-insensitive; hookd stores them lowercased so a later one can't shadow an earlier one. */
export function lowercaseHeaderNames(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
