// Words for failures, chosen by the error `code` (never by the message text, which is the
// server's and may change). Each says what happened and what the person can do next.
import { IpcError } from "../ipc";

const GENERIC: Record<string, string> = {
  offline: "The help desk server can't be reached right now. Check your network and try again.",
  unauthorized: "Your session has ended. Sign in again to continue.",
  not_signed_in: "You're not signed in. Sign in to continue.",
  forbidden: "You don't have permission to do that.",
  not_found: "That item no longer exists. It may have been removed.",
  conflict: "Someone else changed this in the meantime. The latest version is shown.",
  rate_limited: "Too many attempts in a short time. Wait a minute, then try again.",
  validation_failed: "Some fields need attention.",
  local_store: "The app couldn't read or write its local data. Restart the app; if it keeps happening, contact IT.",
  protocol: "The server sent an answer this app doesn't understand. The app may need an update.",
  internal: "Something went wrong inside the app. Try again; if it keeps happening, contact IT.",
};

export function errorCode(error: unknown): string {
  return error instanceof IpcError ? error.code : "internal";
}

/**
 * A sentence for people. Server-side validation and conflict messages are already written
 * for people, so they are kept when there is no better general sentence.
 */
export function errorMessage(error: unknown, overrides: Record<string, string> = {}): string {
  const code = errorCode(error);
  const override = overrides[code];
  if (override) return override;
  const generic = GENERIC[code];
  if (generic) return generic;
  if (error instanceof Error && error.message) return error.message;
  return GENERIC.internal!;
}

/** Sign-in failures, by code. */
export const SIGN_IN_MESSAGES: Record<string, string> = {
  unauthorized: "That username and password don't match. Check them and try again.",
  rate_limited: "Too many sign-in attempts. Wait a minute before trying again.",
  offline: "The help desk server can't be reached, so you can't sign in right now. Check the server address in Settings or your network.",
  validation_failed: "Enter both your username and your password.",
};
