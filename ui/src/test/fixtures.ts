// Plain data shaped like the Rust side's answers, for tests. Every builder takes overrides.
import type { ActionRequestView } from "../bindings/ActionRequestView";
import type { AppStatus } from "../bindings/AppStatus";
import type { DiagnosticsPreview } from "../bindings/DiagnosticsPreview";
import type { ConsentRequest } from "../bindings/ConsentRequest";
import type { EventKind } from "../bindings/EventKind";
import type { RequesterActionView } from "../bindings/RequesterActionView";
import type { SlaTimer } from "../bindings/SlaTimer";
import type { StaffProfile } from "../bindings/StaffProfile";
import type { Ticket } from "../bindings/Ticket";
import type { TicketConversation } from "../bindings/TicketConversation";
import type { TicketDetail } from "../bindings/TicketDetail";
import type { TimelineEntry } from "../bindings/TimelineEntry";

export const NOW = new Date("2030-03-04T10:00:00Z");

export function minutesFromNow(minutes: number, now: Date = NOW): string {
  return new Date(now.getTime() + minutes * 60_000).toISOString();
}

export const AGENT: StaffProfile = {
  userId: 7,
  username: "alex",
  displayName: "Alex Agent",
  role: "agent",
  tier: "L1",
};

export function makeStatus(overrides: Partial<AppStatus> = {}): AppStatus {
  return {
    serverUrl: "https://helpdesk.example.com",
    serverUrlLocked: false,
    connection: "online",
    lastSyncedAt: new Date(Date.now() - 2 * 60_000).toISOString(),
    outboxWaiting: 0,
    outboxFailed: 0,
    staff: null,
    endUser: { localUser: "maria", displayName: "Maria Muster", deviceLinked: true },
    ...overrides,
  };
}

export function runningTimer(targetMinutes: number, dueInMinutes: number, now: Date = NOW): SlaTimer {
  return {
    targetSecs: targetMinutes * 60,
    elapsedSecs: 0,
    runningSince: minutesFromNow(dueInMinutes - targetMinutes, now),
    dueAt: minutesFromNow(dueInMinutes, now),
    stoppedAt: null,
  };
}

let nextId = 1;

export function makeTicket(overrides: Partial<Ticket> = {}): Ticket {
  const id = overrides.id ?? nextId++;
  return {
    id,
    number: 1000 + id,
    title: `Printer jams on floor ${id}`,
    description: "Every page jams after the first one.",
    category: "printer",
    impact: "one_user",
    urgency: "degraded",
    priority: "P3",
    priorityOverrideReason: null,
    requester: { name: "Maria Muster", email: "maria@example.com", userKind: "internal_staff", username: "maria" },
    deviceId: "device-1",
    tier: "L1",
    assigneeId: null,
    status: "open",
    tags: [],
    version: 3,
    createdAt: minutesFromNow(-60, new Date()),
    updatedAt: minutesFromNow(-5, new Date()),
    firstRespondedAt: null,
    resolvedAt: null,
    closedAt: null,
    sla: {
      firstResponse: null,
      resolution: runningTimer(240, 120, new Date()),
      firstResponseAlerts: { atRisk: false, breached: false },
      resolutionAlerts: { atRisk: false, breached: false },
    },
    ...overrides,
  };
}

let nextEntryId = 100;

export function makeEntry(event: EventKind, overrides: Partial<TimelineEntry> = {}): TimelineEntry {
  const internal = event.type === "internal_note" || event.type === "assigned";
  return {
    id: nextEntryId++,
    ticketId: 1,
    at: minutesFromNow(-10, new Date()),
    actor: { kind: "staff", name: "Alex Agent", userId: 7 },
    visibility: internal ? "internal" : "public",
    event,
    ...overrides,
  };
}

export function makeConversation(ticket: Ticket, overrides: Partial<TicketConversation> = {}): TicketConversation {
  return {
    ticket,
    timeline: [makeEntry({ type: "created" }, { actor: { kind: "requester", name: ticket.requester.name, userId: null } })],
    consentRequests: [],
    ...overrides,
  };
}

export function makeDetail(ticket: Ticket, overrides: Partial<TicketDetail> = {}): TicketDetail {
  return {
    ticket,
    timeline: [makeEntry({ type: "created" }, { actor: { kind: "requester", name: ticket.requester.name, userId: null } })],
    actions: [],
    ...overrides,
  };
}

export function makeAction(overrides: Partial<ActionRequestView> = {}): ActionRequestView {
  return {
    id: "req-1",
    ticketId: 1,
    deviceId: "device-1",
    action: "process.kill",
    params: { pid: 4242 },
    state: "awaiting_approval",
    requestedByName: "Sam Second",
    requestedTier: "L2",
    decidedBy: null,
    decisionReason: null,
    result: null,
    createdAt: minutesFromNow(-3, new Date()),
    updatedAt: minutesFromNow(-3, new Date()),
    expiresAt: minutesFromNow(60, new Date()),
    ...overrides,
  };
}

export function makeConsentRequest(overrides: Partial<ConsentRequest> = {}): ConsentRequest {
  return {
    requestId: "req-9",
    action: "account.reset_password",
    account: "maria",
    mayConsent: true,
    requestedAt: minutesFromNow(-2, new Date()),
    ...overrides,
  };
}

/** A request as the requester sees it (the server's redacted projection). */
export function makeRequesterAction(overrides: Partial<RequesterActionView> = {}): RequesterActionView {
  return {
    id: "req-9",
    action: "account.reset_password",
    title: "Reset a local account's password",
    state: "queued",
    account: "maria",
    mayConsent: false,
    outcome: null,
    createdAt: minutesFromNow(-2, new Date()),
    updatedAt: minutesFromNow(-1, new Date()),
    ...overrides,
  };
}

export function makeDiagnostics(overrides: Partial<DiagnosticsPreview> = {}): DiagnosticsPreview {
  return {
    collectedAt: new Date().toISOString(),
    durationMs: 240,
    sections: [
      {
        id: "system",
        title: "System",
        summary: ["Debian GNU/Linux 12, up 3 days"],
        unavailableReason: null,
        sizeBytes: 1200,
        includedByDefault: true,
      },
      {
        id: "hardware",
        title: "Hardware",
        summary: ["8 CPUs, 16 GB memory", "Disk / 97 % full"],
        unavailableReason: null,
        sizeBytes: 3400,
        includedByDefault: true,
      },
      {
        id: "logs",
        title: "Recent errors",
        summary: ["12 error lines in the last hour"],
        unavailableReason: null,
        sizeBytes: 8000,
        includedByDefault: false,
      },
      {
        id: "printers",
        title: "Printers",
        summary: [],
        unavailableReason: "CUPS is not installed",
        sizeBytes: 0,
        includedByDefault: true,
      },
    ],
    hints: [
      {
        id: "disk-full",
        severity: "critical",
        title: "Disk / is 97 % full",
        detail: "Free some space: programs fail when the disk is full.",
        suggestedAction: "disk.clean_temp",
      },
    ],
    rememberedChoices: false,
    ...overrides,
  };
}

/** A theme controller for screens that take one. */
export const TEST_THEME = {
  preference: "system" as const,
  resolved: "light" as const,
  setPreference: () => undefined,
  toggle: () => undefined,
};
