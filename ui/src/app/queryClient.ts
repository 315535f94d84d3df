import { QueryClient } from "@tanstack/react-query";

import { IpcError } from "../ipc";

/** Codes where asking again cannot help: retrying would only delay the message. */
const FINAL_CODES = new Set([
  "unauthorized",
  "not_signed_in",
  "forbidden",
  "not_found",
  "validation_failed",
  "conflict",
  "protocol",
]);

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        retry: (failureCount, error) =>
          !(error instanceof IpcError && FINAL_CODES.has(error.code)) && failureCount < 2,
        retryDelay: (attempt) => Math.min(1000 * 2 ** attempt, 8000),
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}

/** Query keys in one place, so invalidation never misses a spelling. */
export const queryKeys = {
  appStatus: ["app-status"] as const,
  diagnostics: ["diagnostics"] as const,
  myTickets: ["my-tickets"] as const,
  outbox: ["outbox"] as const,
  myTicket: (id: number) => ["my-ticket", id] as const,
  queue: ["queue"] as const,
  ticket: (id: number) => ["ticket", id] as const,
  staff: ["staff"] as const,
  device: (deviceId: string) => ["device", deviceId] as const,
  deviceDiff: (deviceId: string, from: number, to: number) => ["device-diff", deviceId, from, to] as const,
  catalog: (deviceId: string) => ["catalog", deviceId] as const,
  approvals: ["approvals"] as const,
};
