import type { FieldError } from "../bindings/FieldError";

/**
 * Sends the server's per-field messages to the matching form fields. The server names
 * fields by their camelCase JSON path, which is also what the forms use; anything a form
 * has no field for is returned so it can be shown above the form instead of being lost.
 */
export function routeFieldErrors<Name extends string>(
  fields: readonly FieldError[],
  known: readonly Name[],
  setError: (name: Name, message: string) => void,
): FieldError[] {
  const unmatched: FieldError[] = [];
  for (const field of fields) {
    const name = known.find((candidate) => candidate === field.field);
    if (name) setError(name, sentence(field.message));
    else unmatched.push(field);
  }
  return unmatched;
}

/** Server messages are lower-case fragments ("must not be empty"); show them as sentences. */
export function sentence(message: string): string {
  const trimmed = message.trim();
  if (!trimmed) return trimmed;
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}
