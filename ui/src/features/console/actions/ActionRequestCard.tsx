import type { ReactNode } from "react";

import type { ActionRequestView } from "../../../bindings/ActionRequestView";
import { actionTitle, paramEntries } from "../../../lib/actions";
import { formatDateTime, relativeTime, timeAgo } from "../../../lib/format";
import { JsonValue, type Json } from "../device/JsonTable";
import styles from "./ActionsTab.module.css";
import { ActionStateBadge } from "./badges";

const WAITING = new Set(["awaiting_approval", "awaiting_consent", "queued", "running"]);

/** One remediation request: what, where it stands, who decided, and what came back. */
export function ActionRequestCard({
  request,
  title,
  now,
  children,
}: {
  request: ActionRequestView;
  /** The catalog's title when known; otherwise derived from the action id. */
  title?: string;
  now: Date;
  /** Extra controls (approve / deny). */
  children?: ReactNode;
}) {
  const params = paramEntries(request.params);
  return (
    <li className={styles.request} data-testid="action-request" data-state={request.state}>
      <div className={styles.requestTop}>
        <span className={styles.requestTitle}>{title ?? actionTitle(request.action, "agent")}</span>
        <ActionStateBadge state={request.state} />
        <span className={styles.requestMeta} title={formatDateTime(request.createdAt)}>
          {request.requestedByName}
          {request.requestedTier ? ` (${request.requestedTier})` : ""} · {timeAgo(request.createdAt, now)}
        </span>
      </div>
      {params.length > 0 && (
        <dl className={styles.params}>
          {params.map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
      {request.decidedBy && (
        <div className={styles.decision}>
          Decided by {request.decidedBy}
          {request.decisionReason ? `: “${request.decisionReason}”` : ""}
        </div>
      )}
      {WAITING.has(request.state) && (
        <div className={styles.decision}>Expires {relativeTime(request.expiresAt, now)}.</div>
      )}
      {request.result !== null && request.result !== undefined && (
        <details className={styles.result} open={request.state === "failed" || request.state === "rejected"}>
          <summary>Result and verification</summary>
          <JsonValue value={request.result as Json} name="result" />
        </details>
      )}
      {children}
    </li>
  );
}
