import type { LucideIcon } from "lucide-react";
import type { HTMLAttributes, ReactNode } from "react";

import type { Tone } from "../lib/labels";
import styles from "./Badge.module.css";
import { cx } from "./cx";

export interface BadgeProps extends HTMLAttributes<HTMLSpanElement> {
  tone?: Tone;
  dot?: boolean;
  icon?: LucideIcon;
  shape?: "pill" | "square";
  children: ReactNode;
}

export function Badge({ tone = "neutral", dot, icon: Icon, shape = "pill", className, children, ...rest }: BadgeProps) {
  return (
    <span className={cx(styles.badge, styles[tone], shape === "square" && styles.square, className)} {...rest}>
      {dot && <span className={styles.dot} aria-hidden />}
      {Icon && <Icon className={styles.icon} aria-hidden />}
      {children}
    </span>
  );
}
