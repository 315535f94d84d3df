import type { Priority } from "../../../bindings/Priority";
import { cx } from "../../../components/cx";
import { PRIORITY_LABEL } from "../../../lib/labels";
import styles from "./badges.module.css";

export function PriorityBadge({ priority }: { priority: Priority }) {
  return (
    <span className={cx(styles.priority, styles[priority])} title={PRIORITY_LABEL[priority]} aria-label={PRIORITY_LABEL[priority]}>
      {priority}
    </span>
  );
}
