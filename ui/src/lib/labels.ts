// Words for the wire enums. The wire names are stable identifiers; these are what people
// read. End users and agents sometimes need different words for the same thing.
import type { Category } from "../bindings/Category";
import type { HintSeverity } from "../bindings/HintSeverity";
import type { Impact } from "../bindings/Impact";
import type { Priority } from "../bindings/Priority";
import type { SnapshotInfo } from "../bindings/SnapshotInfo";
import type { Status } from "../bindings/Status";
import type { Tier } from "../bindings/Tier";
import type { Urgency } from "../bindings/Urgency";
import type { WithheldBy } from "../bindings/WithheldBy";

export const CATEGORIES: readonly Category[] = [
  "hardware",
  "printer",
  "network",
  "account_password",
  "software",
  "email",
  "other",
];

export const CATEGORY_LABEL: Record<Category, string> = {
  hardware: "Computer",
  printer: "Printer",
  network: "Network",
  account_password: "Account or password",
  software: "Software",
  email: "Email",
  other: "Other",
};

export const STATUSES: readonly Status[] = ["new", "open", "pending_user", "resolved", "closed"];

/** Statuses a ticket is still being worked on in. */
export const OPEN_STATUSES: readonly Status[] = ["new", "open", "pending_user"];

export const STATUS_LABEL: Record<Status, string> = {
  new: "New",
  open: "Open",
  pending_user: "Waiting on user",
  resolved: "Resolved",
  closed: "Closed",
};

/** The same statuses as the requester reads them. */
export const STATUS_LABEL_FOR_REQUESTER: Record<Status, string> = {
  new: "Received",
  open: "In progress",
  pending_user: "Waiting for you",
  resolved: "Resolved",
  closed: "Closed",
};

export const PRIORITIES: readonly Priority[] = ["P1", "P2", "P3", "P4"];

export const PRIORITY_LABEL: Record<Priority, string> = {
  P1: "P1 · Critical",
  P2: "P2 · High",
  P3: "P3 · Normal",
  P4: "P4 · Low",
};

export const TIERS: readonly Tier[] = ["L1", "L2", "L3"];

export const URGENCY_OPTIONS: readonly { value: Urgency; label: string; hint: string }[] = [
  { value: "can_work", label: "I can still work", hint: "It's annoying, but I can get on." },
  { value: "degraded", label: "It slows me down", hint: "Work takes longer than it should." },
  { value: "blocked", label: "I can't work", hint: "I'm stuck until this is fixed." },
];

export const IMPACT_OPTIONS: readonly { value: Impact; label: string; hint: string }[] = [
  { value: "one_user", label: "Just me", hint: "Only my computer or account." },
  { value: "team", label: "My team", hint: "Several colleagues have it too." },
  { value: "whole_office", label: "The whole office", hint: "Everyone here is affected." },
];

export const URGENCY_LABEL: Record<Urgency, string> = {
  can_work: "Can still work",
  degraded: "Slowed down",
  blocked: "Can't work",
};

export const IMPACT_LABEL: Record<Impact, string> = {
  one_user: "One user",
  team: "A team",
  whole_office: "Whole office",
};

/** Remediation request states, as agents read them. */
export const ACTION_STATE_LABEL: Record<string, string> = {
  awaiting_approval: "Waiting for a second agent",
  awaiting_consent: "Waiting for the user's consent",
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  rejected: "Rejected by the computer",
  denied: "Denied",
  expired: "Expired",
  requested: "Requested",
  approved: "Approved",
  consented: "User agreed",
  consent_refused: "User declined",
};

export function actionStateLabel(state: string): string {
  return ACTION_STATE_LABEL[state] ?? state.replaceAll("_", " ");
}

export type Tone = "neutral" | "accent" | "info" | "success" | "warning" | "danger";

export function actionStateTone(state: string): Tone {
  switch (state) {
    case "succeeded":
    case "consented":
    case "approved":
      return "success";
    case "failed":
    case "rejected":
    case "denied":
    case "consent_refused":
      return "danger";
    case "awaiting_approval":
    case "awaiting_consent":
      return "warning";
    case "queued":
    case "running":
    case "requested":
      return "info";
    default:
      return "neutral";
  }
}

export function statusTone(status: Status): Tone {
  switch (status) {
    case "new":
      return "accent";
    case "open":
      return "info";
    case "pending_user":
      return "warning";
    case "resolved":
      return "success";
    case "closed":
      return "neutral";
  }
}

export const RISK_TONE: Record<string, Tone> = { low: "success", medium: "warning", high: "danger" };

export const APPROVAL_LABEL: Record<string, string> = {
  none: "No approval",
  second_agent: "Second agent approves",
  user_consent: "User consents",
};

export const HINT_TONE: Record<HintSeverity, Tone> = {
  info: "info",
  warning: "warning",
  critical: "danger",
};

/** Where a stored snapshot came from, for agents: the device's own report or the user's. */
export function snapshotSourceLabel(snapshot: Pick<SnapshotInfo, "source" | "ticketNumber">): string {
  switch (snapshot.source) {
    case "background":
      return "Sent by the computer in the background";
    case "on_request":
      return "Collected on request (Refresh now)";
    case "ticket":
      return snapshot.ticketNumber ? `Attached to ${snapshot.ticketNumber} by the user` : "Attached to a ticket by the user";
  }
}

export const WITHHELD_LABEL: Record<WithheldBy, string> = {
  user: "Not shared by the user",
  policy: "Not sent: the device's policy keeps it private",
};
