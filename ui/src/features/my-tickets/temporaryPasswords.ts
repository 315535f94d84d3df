// Temporary passwords from a password reset are handed over by the backend exactly once.
// They are kept here (memory only) until the person confirms they have them, so neither a
// screen switch nor React's double-run of effects in development can lose one.
import { useSyncExternalStore } from "react";

import type { TemporaryPassword } from "../../bindings/TemporaryPassword";
import { takeTemporaryPasswords } from "../../ipc";

let pending: TemporaryPassword[] = [];
const listeners = new Set<() => void>();

function publish(next: TemporaryPassword[]) {
  pending = next;
  listeners.forEach((listener) => listener());
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Asks the backend for new ones; failures are retried at the next call. */
export async function collectTemporaryPasswords(): Promise<void> {
  try {
    const fresh = await takeTemporaryPasswords();
    if (fresh.length === 0) return;
    const known = new Set(pending.map((password) => password.orderId));
    publish([...pending, ...fresh.filter((password) => !known.has(password.orderId))]);
  } catch {
    // Offline or not linked: nothing to show now.
  }
}

/** The person has seen (and copied) it: drop it from memory for good. */
export function dismissTemporaryPassword(orderId: string): void {
  publish(pending.filter((password) => password.orderId !== orderId));
}

export function usePendingTemporaryPasswords(): TemporaryPassword[] {
  return useSyncExternalStore(subscribe, () => pending);
}

/** Tests start from nothing. */
export function resetTemporaryPasswordsForTests(): void {
  publish([]);
}
