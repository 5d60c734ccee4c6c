/** Quotes a value for POSIX sh, so builders can embed any string as one word. */
export function shQuote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}
