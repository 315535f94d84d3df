// The fake backend: every command of ../ipc.ts as a vi.fn with a harmless default. Tests
// replace single answers (`fakeIpc.queue.mockResolvedValueOnce(...)`) and inspect calls.
// `IpcError` stays the real class, so code under test branches on codes exactly as in the
// app. Installed for every test file by ./setup.ts.
import { vi } from "vitest";

import type * as Ipc from "../ipc";
import { makeDiagnostics, makeStatus } from "./fixtures";

type Commands = Omit<typeof Ipc, "IpcError">;
type FakeCommands = { [Name in keyof Commands]: ReturnType<typeof vi.fn<Commands[Name]>> };

function defaults(): { [Name in keyof Commands]: Commands[Name] } {
  return {
    appStatus: async () => makeStatus(),
    setServerUrl: async (url) => makeStatus({ serverUrl: url }),
    signIn: async () => makeStatus(),
    signOut: async () => makeStatus(),
    syncNow: async () => makeStatus(),
    collectDiagnostics: async () => makeDiagnostics(),
    captureScreenshot: async () => ({
      id: "shot-1",
      dataUrl: "data:image/png;base64,iVBORw0KGgo=",
      width: 1920,
      height: 1080,
      sizeBytes: 204_800,
    }),
    discardScreenshot: async () => undefined,
    submitTicket: async () => ({ outboxId: 1, delivery: "waiting", ticket: null }),
    myTickets: async () => [],
    outboxEntries: async () => [],
    discardOutboxEntry: async () => undefined,
    myTicket: async () => {
      throw new Error("myTicket: no answer set up in this test");
    },
    replyToMyTicket: async () => {
      throw new Error("replyToMyTicket: no answer set up in this test");
    },
    reopenMyTicket: async () => {
      throw new Error("reopenMyTicket: no answer set up in this test");
    },
    answerConsent: async () => {
      throw new Error("answerConsent: no answer set up in this test");
    },
    takeTemporaryPasswords: async () => [],
    queue: async () => ({ items: [], nextCursor: null, fromCache: false }),
    ticketDetail: async () => {
      throw new Error("ticketDetail: no answer set up in this test");
    },
    changeTicket: async () => {
      throw new Error("changeTicket: no answer set up in this test");
    },
    staffMembers: async () => [],
    devicePanel: async () => {
      throw new Error("devicePanel: no answer set up in this test");
    },
    deviceDiff: async () => ({}),
    actionCatalog: async () => [],
    requestAction: async () => {
      throw new Error("requestAction: no answer set up in this test");
    },
    approvalsInbox: async () => [],
    decideAction: async () => {
      throw new Error("decideAction: no answer set up in this test");
    },
    onStatusChanged: async () => () => undefined,
  };
}

export const fakeIpc = Object.fromEntries(
  Object.entries(defaults()).map(([name, implementation]) => [name, vi.fn(implementation)]),
) as unknown as FakeCommands;

/** Back to the defaults: called before every test. */
export function resetFakeIpc(): void {
  for (const [name, implementation] of Object.entries(defaults())) {
    const fake = fakeIpc[name as keyof Commands] as unknown as ReturnType<typeof vi.fn>;
    fake.mockReset();
    fake.mockImplementation(implementation as never);
  }
}
