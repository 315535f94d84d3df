import type { SlaTimer } from "../../../bindings/SlaTimer";
import type { Ticket } from "../../../bindings/Ticket";
import { Badge } from "../../../components/Badge";
import { formatDateTime, timeAgo } from "../../../lib/format";
import { CATEGORY_LABEL, IMPACT_LABEL, PRIORITY_LABEL, URGENCY_LABEL } from "../../../lib/labels";
import { timerState } from "../../../lib/sla";
import type { Tone } from "../../../lib/labels";
import { useStaff } from "../useStaff";
import styles from "./TicketDetailsPanel.module.css";

const USER_KIND: Record<Ticket["requester"]["userKind"], string> = {
  internal_staff: "Staff",
  business_customer: "Business customer",
  private_customer: "Private customer",
};

const SLA_TONE: Record<string, Tone> = {
  on_track: "success",
  at_risk: "warning",
  breached: "danger",
  paused: "neutral",
  met: "success",
};

function Clock({ timer, alerts, now }: { timer: SlaTimer | null; alerts: Ticket["sla"]["resolutionAlerts"]; now: Date }) {
  if (!timer) return <span>—</span>;
  const state = timerState(timer, alerts, now);
  return (
    <span title={timer.dueAt ? `Due ${formatDateTime(timer.dueAt)}` : undefined}>
      <Badge tone={SLA_TONE[state.state] ?? "neutral"}>{state.words}</Badge>
    </span>
  );
}

/** The facts of a ticket at a glance, beside the timeline. */
export function TicketDetailsPanel({ ticket, now }: { ticket: Ticket; now: Date }) {
  const staff = useStaff();
  return (
    <aside className={styles.panel} aria-label="Ticket details">
      <section className={styles.group}>
        <h3 className={styles.groupTitle}>Requester</h3>
        <dl className={styles.list}>
          <dt>Name</dt>
          <dd>{ticket.requester.name}</dd>
          {ticket.requester.email && (
            <>
              <dt>Email</dt>
              <dd>
                <a href={`mailto:${ticket.requester.email}`}>{ticket.requester.email}</a>
              </dd>
            </>
          )}
          {ticket.requester.username && (
            <>
              <dt>Account</dt>
              <dd className={styles.mono}>{ticket.requester.username}</dd>
            </>
          )}
          <dt>Kind</dt>
          <dd>{USER_KIND[ticket.requester.userKind]}</dd>
        </dl>
      </section>

      <section className={styles.group}>
        <h3 className={styles.groupTitle}>Classification</h3>
        <dl className={styles.list}>
          <dt>Category</dt>
          <dd>{CATEGORY_LABEL[ticket.category]}</dd>
          <dt>Impact</dt>
          <dd>{IMPACT_LABEL[ticket.impact]}</dd>
          <dt>Urgency</dt>
          <dd>{URGENCY_LABEL[ticket.urgency]}</dd>
          <dt>Priority</dt>
          <dd>
            {PRIORITY_LABEL[ticket.priority]}
            {ticket.priorityOverrideReason && (
              <span className={styles.reason}>Overridden: {ticket.priorityOverrideReason}</span>
            )}
          </dd>
          <dt>Tier</dt>
          <dd>{ticket.tier}</dd>
          <dt>Assignee</dt>
          <dd>{staff.nameOf(ticket.assigneeId)}</dd>
        </dl>
      </section>

      <section className={styles.group}>
        <h3 className={styles.groupTitle}>SLA</h3>
        <dl className={styles.list}>
          <dt>First reply</dt>
          <dd>
            <Clock timer={ticket.sla.firstResponse} alerts={ticket.sla.firstResponseAlerts} now={now} />
          </dd>
          <dt>Resolution</dt>
          <dd>
            <Clock timer={ticket.sla.resolution} alerts={ticket.sla.resolutionAlerts} now={now} />
          </dd>
        </dl>
      </section>

      <section className={styles.group}>
        <h3 className={styles.groupTitle}>Dates</h3>
        <dl className={styles.list}>
          <dt>Opened</dt>
          <dd title={formatDateTime(ticket.createdAt)}>{timeAgo(ticket.createdAt, now)}</dd>
          <dt>Updated</dt>
          <dd title={formatDateTime(ticket.updatedAt)}>{timeAgo(ticket.updatedAt, now)}</dd>
          {ticket.firstRespondedAt && (
            <>
              <dt>First reply</dt>
              <dd title={formatDateTime(ticket.firstRespondedAt)}>{timeAgo(ticket.firstRespondedAt, now)}</dd>
            </>
          )}
          {ticket.resolvedAt && (
            <>
              <dt>Resolved</dt>
              <dd title={formatDateTime(ticket.resolvedAt)}>{timeAgo(ticket.resolvedAt, now)}</dd>
            </>
          )}
        </dl>
      </section>

      {ticket.tags.length > 0 && (
        <section className={styles.group}>
          <h3 className={styles.groupTitle}>Tags</h3>
          <div className={styles.tags}>
            {ticket.tags.map((tag) => (
              <Badge key={tag} shape="square">
                {tag}
              </Badge>
            ))}
          </div>
        </section>
      )}
    </aside>
  );
}
