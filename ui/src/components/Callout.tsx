import { AlertOctagon, AlertTriangle, CheckCircle2, Info, type LucideIcon } from "lucide-react";
import type { HTMLAttributes, ReactNode } from "react";

import type { Tone } from "../lib/labels";
import styles from "./Callout.module.css";
import { cx } from "./cx";

const DEFAULT_ICON: Partial<Record<Tone, LucideIcon>> = {
  info: Info,
  success: CheckCircle2,
  warning: AlertTriangle,
  danger: AlertOctagon,
};

export function Callout({
  tone = "info",
  icon,
  title,
  children,
  action,
  className,
  ...rest
}: Omit<HTMLAttributes<HTMLDivElement>, "title"> & {
  tone?: Tone;
  icon?: LucideIcon;
  title?: ReactNode;
  children?: ReactNode;
  action?: ReactNode;
}) {
  const Icon = icon ?? DEFAULT_ICON[tone] ?? Info;
  return (
    <div className={cx(styles.callout, styles[tone], className)} {...rest}>
      <Icon className={styles.icon} aria-hidden />
      <div className={styles.content}>
        {title && <div className={styles.title}>{title}</div>}
        {children && <div className={styles.body}>{children}</div>}
      </div>
      {action && <div className={styles.action}>{action}</div>}
    </div>
  );
}
