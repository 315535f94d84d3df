import { CheckCircle2, PauseCircle, Timer, TimerOff } from "lucide-react";

import type { Status } from "../../../bindings/Status";
import type { TicketSla } from "../../../bindings/TicketSla";
import { Badge } from "../../../components/Badge";
import { cx } from "../../../components/cx";
import { formatDateTime } from "../../../lib/format";
import type { Tone } from "../../../lib/labels";
import { SLA_CLOCK_LABEL, slaBadge, type SlaBadgeState } from "../../../lib/sla";
import styles from "./badges.module.css";

const TONE: Record<SlaBadgeState, Tone> = {
  on_track: "success",
  at_risk: "warning",
  breached: "danger",
  paused: "neutral",
  met: "neutral",
  none: "neutral",
};

const ICON = { on_track: Timer, at_risk: Timer, breached: TimerOff, paused: PauseCircle, met: CheckCircle2, none: Timer };

/** Green → amber at risk → red breached, with the time left in words. */
export function SlaBadge({ sla, status, now, fixedWidth }: { sla: TicketSla; status: Status; now: Date; fixedWidth?: boolean }) {
  const info = slaBadge(sla, status, now);
  const title =
    info.clock && info.dueAt
      ? `${SLA_CLOCK_LABEL[info.clock]} due ${formatDateTime(info.dueAt)}`
      : info.clock
        ? `${SLA_CLOCK_LABEL[info.clock]} SLA: ${info.words}`
        : "No SLA applies to this ticket";
  return (
    <Badge
      tone={TONE[info.state]}
      icon={ICON[info.state]}
      title={title}
      data-sla-state={info.state}
      className={cx(fixedWidth && styles.sla)}
    >
      {info.words}
    </Badge>
  );
}
