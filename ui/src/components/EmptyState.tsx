import type { LucideIcon } from "lucide-react";
import type { ReactNode } from "react";

import styles from "./States.module.css";
import { cx } from "./cx";

/** Nothing to show yet: says why, and what to do next. */
export function EmptyState({
  icon: Icon,
  title,
  children,
  actions,
  compact,
}: {
  icon?: LucideIcon;
  title: string;
  children?: ReactNode;
  actions?: ReactNode;
  compact?: boolean;
}) {
  return (
    <div className={cx(styles.state, compact && styles.compact)}>
      {Icon && (
        <div className={styles.iconWrap}>
          <Icon aria-hidden />
        </div>
      )}
      <h3 className={styles.title}>{title}</h3>
      {children && <div className={styles.body}>{children}</div>}
      {actions && <div className={styles.actions}>{actions}</div>}
    </div>
  );
}
