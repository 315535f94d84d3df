import {
  AlertTriangle,
  ArrowUpRight,
  CircleDot,
  Flag,
  Globe,
  Lock,
  Paperclip,
  PencilLine,
  PlayCircle,
  Sparkles,
  UserRoundCheck,
  type LucideIcon,
} from "lucide-react";

import type { EventKind } from "../../../bindings/EventKind";
import type { Ticket } from "../../../bindings/Ticket";
import type { TimelineEntry } from "../../../bindings/TimelineEntry";
import { cx } from "../../../components/cx";
import { formatDateTime, initials, timeAgo } from "../../../lib/format";
import { describeEvent } from "../../../lib/timeline";
import { isPendingEntry } from "./optimistic";
import styles from "./TicketTimeline.module.css";

const EVENT_ICON: Record<EventKind["type"], LucideIcon> = {
  created: Sparkles,
  public_reply: Globe,
  internal_note: Lock,
  field_changed: PencilLine,
  assigned: UserRoundCheck,
  escalated: ArrowUpRight,
  status_changed: CircleDot,
  priority_overridden: Flag,
  attachment_added: Paperclip,
  sla_at_risk: AlertTriangle,
  sla_breached: AlertTriangle,
  action: PlayCircle,
};

function When({ at, now, pending }: { at: string; now: Date; pending?: boolean }) {
  return (
    <time className={styles.time} dateTime={at} title={formatDateTime(at)}>
      {pending ? "Sending…" : timeAgo(at, now)}
    </time>
  );
}

function MessageCard({ entry, body, now }: { entry: TimelineEntry; body: string; now: Date }) {
  const note = entry.event.type === "internal_note";
  const fromRequester = entry.actor.kind === "requester";
  const pending = isPendingEntry(entry);
  return (
    <li
      className={cx(styles.card, note && styles.note, fromRequester && styles.requester, pending && styles.pending)}
      data-testid="timeline-item"
      data-kind={entry.event.type}
      aria-label={note ? `Internal note by ${entry.actor.name}` : `Reply by ${entry.actor.name}`}
    >
      <div className={styles.cardHeader}>
        <span className={cx(styles.avatar, fromRequester && styles.requesterAvatar)} aria-hidden>
          {initials(entry.actor.name || "?")}
        </span>
        <span className={styles.author}>{entry.actor.name}</span>
        {note ? (
          <span className={styles.noteLabel}>
            <Lock aria-hidden />
            Internal note
          </span>
        ) : (
          <span className={styles.publicLabel}>{fromRequester ? "Requester" : "Public reply"}</span>
        )}
        <When at={entry.at} now={now} pending={pending} />
      </div>
      <div className={styles.body}>{body}</div>
    </li>
  );
}

export function TicketTimeline({
  ticket,
  timeline,
  now,
  nameOf,
}: {
  ticket: Ticket;
  timeline: TimelineEntry[];
  now: Date;
  nameOf: (id: number | null) => string;
}) {
  return (
    <ol className={styles.timeline} aria-label="Timeline">
      {timeline.map((entry) => {
        const event = entry.event;
        if (event.type === "public_reply" || event.type === "internal_note") {
          return <MessageCard key={entry.id} entry={entry} body={event.body} now={now} />;
        }
        if (event.type === "created") {
          return (
            <li key={entry.id} className={cx(styles.card, styles.requester)} data-testid="timeline-item" data-kind="created">
              <div className={styles.cardHeader}>
                <span className={cx(styles.avatar, styles.requesterAvatar)} aria-hidden>
                  {initials(entry.actor.name || ticket.requester.name)}
                </span>
                <span className={styles.author}>{entry.actor.name || ticket.requester.name}</span>
                <span className={styles.publicLabel}>opened the ticket</span>
                <When at={entry.at} now={now} />
              </div>
              <div className={styles.body}>{ticket.description.trim() || "No description given."}</div>
            </li>
          );
        }
        const line = describeEvent(event, "agent", (id) => nameOf(id));
        if (!line) return null;
        const Icon = EVENT_ICON[event.type];
        return (
          <li key={entry.id} className={cx(styles.line, styles[line.tone])} data-testid="timeline-item" data-kind={event.type}>
            <Icon aria-hidden />
            <span className={styles.lineText}>
              <span className={styles.lineActor}>{entry.actor.name}</span> · {line.text}
            </span>
            <When at={entry.at} now={now} />
          </li>
        );
      })}
    </ol>
  );
}
