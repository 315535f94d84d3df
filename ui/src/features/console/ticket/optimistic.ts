// What a change will most likely look like, applied before the server answers so the
// agent never waits. The server's answer (or a rollback) replaces it moments later.
import type { StaffProfile } from "../../../bindings/StaffProfile";
import type { Ticket } from "../../../bindings/Ticket";
import type { TicketChange } from "../../../bindings/TicketChange";
import type { TicketDetail } from "../../../bindings/TicketDetail";
import type { TimelineEntry } from "../../../bindings/TimelineEntry";

const NEXT_TIER = { L1: "L2", L2: "L3", L3: null } as const;

export function nextTier(tier: Ticket["tier"]): Ticket["tier"] | null {
  return NEXT_TIER[tier];
}

export function applyToTicket(ticket: Ticket, change: TicketChange): Ticket {
  switch (change.kind) {
    case "assign": {
      const status = ticket.status === "new" && change.assigneeId !== null ? "open" : ticket.status;
      return { ...ticket, assigneeId: change.assigneeId, status };
    }
    case "status":
      return { ...ticket, status: change.status };
    case "priority":
      return { ...ticket, priority: change.priority, priorityOverrideReason: change.reason };
    case "escalate":
      return { ...ticket, tier: nextTier(ticket.tier) ?? ticket.tier };
    case "reply":
      return ticket.status === "new" ? { ...ticket, status: "open" } : ticket;
    case "note":
      return ticket;
  }
}

/** Optimistic timeline entries have negative ids: the UI shows them as "Sending…". */
export function isPendingEntry(entry: TimelineEntry): boolean {
  return entry.id < 0;
}

export function applyToDetail(
  detail: TicketDetail,
  change: TicketChange,
  me: StaffProfile | null,
  now: Date,
): TicketDetail {
  const ticket = applyToTicket(detail.ticket, change);
  if (change.kind !== "reply" && change.kind !== "note") return { ...detail, ticket };
  const entry: TimelineEntry = {
    id: -now.getTime(),
    ticketId: detail.ticket.id,
    at: now.toISOString(),
    actor: { kind: "staff", name: me?.displayName ?? "You", userId: me?.userId ?? null },
    visibility: change.kind === "reply" ? "public" : "internal",
    event:
      change.kind === "reply"
        ? { type: "public_reply", body: change.body }
        : { type: "internal_note", body: change.body },
  };
  return { ...detail, ticket, timeline: [...detail.timeline, entry] };
}
