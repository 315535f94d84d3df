// Turning timeline events into words. Replies and notes are rendered as messages by the
// screens; everything else becomes one line of text, worded for whoever reads it.
import type { EventKind } from "../bindings/EventKind";
import { actionTitle } from "./actions";
import { formatBytes, humanizeKey } from "./format";
import {
  PRIORITY_LABEL,
  STATUS_LABEL,
  STATUS_LABEL_FOR_REQUESTER,
  actionStateLabel,
  type Tone,
} from "./labels";

export type Audience = "agent" | "requester";

export interface EventLine {
  text: string;
  tone: Tone;
}

/** `null` for the events shown as messages (replies, notes, the opening description). */
export function describeEvent(
  event: EventKind,
  audience: Audience,
  staffName: (id: number) => string = (id) => `agent #${id}`,
): EventLine | null {
  switch (event.type) {
    case "created":
    case "public_reply":
    case "internal_note":
      return null;
    case "status_changed": {
      const words = audience === "requester" ? STATUS_LABEL_FOR_REQUESTER : STATUS_LABEL;
      if (audience === "requester" && event.to === "resolved")
        return { text: "The help desk marked this as resolved", tone: "success" };
      if (audience === "requester" && event.from === "resolved" && event.to === "open")
        return { text: "Reopened", tone: "info" };
      if (audience === "requester" && event.to === "pending_user")
        return { text: "The help desk is waiting for your reply", tone: "warning" };
      return {
        text: `Status changed from ${words[event.from]} to ${words[event.to]}`,
        tone: event.to === "resolved" ? "success" : "neutral",
      };
    }
    case "escalated":
      return audience === "requester"
        ? { text: `Passed on to the ${event.to} support team`, tone: "info" }
        : {
            text: `${event.automatic ? "Escalated automatically" : "Escalated"} ${event.from} → ${event.to}: ${event.reason}`,
            tone: "warning",
          };
    case "assigned":
      if (event.to === null) return { text: `Unassigned from ${staffName(event.from ?? 0)}`, tone: "neutral" };
      return {
        text: event.from === null ? `Assigned to ${staffName(event.to)}` : `Reassigned to ${staffName(event.to)}`,
        tone: "neutral",
      };
    case "priority_overridden":
      return {
        text:
          audience === "requester"
            ? `Priority set to ${event.to}`
            : `Priority changed ${event.from} → ${PRIORITY_LABEL[event.to]}: ${event.reason}`,
        tone: "neutral",
      };
    case "field_changed":
      return { text: `${humanizeKey(event.field)} changed`, tone: "neutral" };
    case "attachment_added":
      return { text: `Attached ${event.fileName} (${formatBytes(event.sizeBytes)})`, tone: "neutral" };
    case "sla_at_risk":
      return {
        text: `${event.target === "first_response" ? "First response" : "Resolution"} SLA at risk`,
        tone: "warning",
      };
    case "sla_breached":
      return {
        text: `${event.target === "first_response" ? "First response" : "Resolution"} SLA breached`,
        tone: "danger",
      };
    case "action": {
      const title = actionTitle(event.action, audience);
      const detail = event.detail ? ` — ${event.detail}` : "";
      if (audience === "requester") {
        switch (event.state) {
          case "awaiting_consent":
            return { text: `The help desk asked for your permission to: ${title}`, tone: "warning" };
          case "succeeded":
            return { text: `${title}: done${detail}`, tone: "success" };
          case "failed":
            return { text: `${title}: didn't work${detail}`, tone: "danger" };
          default:
            return { text: `${title}: ${actionStateLabel(event.state).toLowerCase()}`, tone: "neutral" };
        }
      }
      const tone =
        event.state === "succeeded" ? "success" : ["failed", "rejected", "denied"].includes(event.state) ? "danger" : "info";
      return { text: `${title}: ${actionStateLabel(event.state)}${detail}`, tone };
    }
  }
}
