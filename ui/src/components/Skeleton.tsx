import type { CSSProperties } from "react";

import styles from "./Skeleton.module.css";
import { cx } from "./cx";

/** A placeholder of the final content's size, so nothing moves when data arrives. */
export function Skeleton({
  width = "100%",
  height = 14,
  radius,
  className,
  style,
}: {
  width?: number | string;
  height?: number | string;
  radius?: number | string;
  className?: string;
  style?: CSSProperties;
}) {
  return (
    <span
      aria-hidden
      className={cx(styles.skeleton, className)}
      style={{ width, height, borderRadius: radius, ...style }}
    />
  );
}

/** A few text lines, the last one shorter, like a paragraph. */
export function SkeletonLines({ lines = 3, height = 12, label }: { lines?: number; height?: number; label?: string }) {
  return (
    <div className={styles.lines} role={label ? "status" : undefined} aria-label={label}>
      {Array.from({ length: lines }, (_, index) => (
        <Skeleton key={index} height={height} width={index === lines - 1 ? "60%" : "100%"} />
      ))}
    </div>
  );
}
