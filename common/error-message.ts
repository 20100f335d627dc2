/** What was thrown, as text for a log line or a wrapping error (`throw` takes any value, not only Errors). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
