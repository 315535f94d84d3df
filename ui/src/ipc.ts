// The only module that calls Tauri's `invoke` (an architecture invariant, see
// ARCHITECTURE.md). Every command returns the Rust types generated into ./bindings, and
// every failure arrives as a `CommandError` `{code, message, fields}`: callers branch on
// `code`, never on the message.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import type { ActionRequestDraft } from "./bindings/ActionRequestDraft";
import type { ActionRequestView } from "./bindings/ActionRequestView";
import type { AppStatus } from "./bindings/AppStatus";
import type { CatalogAction } from "./bindings/CatalogAction";
import type { CommandError } from "./bindings/CommandError";
import type { DevicePanel } from "./bindings/DevicePanel";
import type { DiagnosticsPreview } from "./bindings/DiagnosticsPreview";
import type { OutboxEntry } from "./bindings/OutboxEntry";
import type { QueuePage } from "./bindings/QueuePage";
import type { QueueQuery } from "./bindings/QueueQuery";
import type { RequesterActionView } from "./bindings/RequesterActionView";
import type { ScreenshotPreview } from "./bindings/ScreenshotPreview";
import type { StaffMember } from "./bindings/StaffMember";
import type { SubmitOutcome } from "./bindings/SubmitOutcome";
import type { TemporaryPassword } from "./bindings/TemporaryPassword";
import type { Ticket } from "./bindings/Ticket";
import type { TicketChange } from "./bindings/TicketChange";
import type { TicketConversation } from "./bindings/TicketConversation";
import type { TicketDetail } from "./bindings/TicketDetail";
import type { TicketDraft } from "./bindings/TicketDraft";

/** A failed command, thrown by every call below. */
export class IpcError extends Error implements CommandError {
  readonly code: string;
  readonly fields: CommandError["fields"];

  constructor(error: CommandError) {
    super(error.message);
    this.name = "IpcError";
    this.code = error.code;
    this.fields = error.fields;
  }
}

function isCommandError(value: unknown): value is CommandError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as CommandError).code === "string" &&
    typeof (value as CommandError).message === "string"
  );
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    if (isCommandError(error)) {
      throw new IpcError({ ...error, fields: error.fields ?? [] });
    }
    throw new IpcError({ code: "internal", message: String(error), fields: [] });
  }
}

// Session and settings
export const appStatus = () => call<AppStatus>("app_status");
export const setServerUrl = (url: string) => call<AppStatus>("set_server_url", { url });
export const signIn = (username: string, password: string) =>
  call<AppStatus>("sign_in", { username, password });
export const signOut = () => call<AppStatus>("sign_out");
export const syncNow = () => call<AppStatus>("sync_now");

// Get help (end user)
export const collectDiagnostics = () => call<DiagnosticsPreview>("collect_diagnostics");
export const captureScreenshot = () => call<ScreenshotPreview>("capture_screenshot");
export const discardScreenshot = (id: string) => call<void>("discard_screenshot", { id });
export const submitTicket = (draft: TicketDraft) => call<SubmitOutcome>("submit_ticket", { draft });

// My tickets (end user)
export const myTickets = () => call<Ticket[]>("my_tickets");
export const outboxEntries = () => call<OutboxEntry[]>("outbox_entries");
export const discardOutboxEntry = (id: number) => call<void>("discard_outbox_entry", { id });
export const myTicket = (id: number) => call<TicketConversation>("my_ticket", { id });
export const replyToMyTicket = (id: number, body: string) =>
  call<TicketConversation>("reply_to_my_ticket", { id, body });
export const reopenMyTicket = (id: number) => call<TicketConversation>("reopen_my_ticket", { id });
export const answerConsent = (requestId: string, granted: boolean) =>
  call<RequesterActionView>("answer_consent", { requestId, granted });
/** Temporary passwords waiting for this user; each is returned once, then gone. */
export const takeTemporaryPasswords = () => call<TemporaryPassword[]>("take_temporary_passwords");

// Console (agents)
export const queue = (query: QueueQuery) => call<QueuePage>("queue", { query });
export const ticketDetail = (id: number) => call<TicketDetail>("ticket_detail", { id });
/** Fails with code `conflict` when `version` is stale; refetch and show the current ticket. */
export const changeTicket = (id: number, version: number, change: TicketChange) =>
  call<TicketDetail>("change_ticket", { id, version, change });
export const staffMembers = () => call<StaffMember[]>("staff_members");
export const devicePanel = (deviceId: string) => call<DevicePanel>("device_panel", { deviceId });
export const deviceDiff = (deviceId: string, from: number, to: number) =>
  call<unknown>("device_diff", { deviceId, from, to });
export const actionCatalog = (deviceId: string) =>
  call<CatalogAction[]>("action_catalog", { deviceId });
export const requestAction = (ticketId: number, draft: ActionRequestDraft) =>
  call<ActionRequestView>("request_action", { ticketId, draft });
export const approvalsInbox = () => call<ActionRequestView[]>("approvals_inbox");
export const decideAction = (requestId: string, approve: boolean, reason: string | null) =>
  call<ActionRequestView>("decide_action", { requestId, approve, reason });

/** The backend pushes a fresh AppStatus whenever sync, the outbox or the session changes. */
export const onStatusChanged = (handler: (status: AppStatus) => void): Promise<UnlistenFn> =>
  listen<AppStatus>("status-changed", (event) => handler(event.payload));
