import { AlertTriangle, RotateCw } from "lucide-react";
import type { ReactNode } from "react";

import { errorMessage } from "../lib/errors";
import { Button } from "./Button";
import styles from "./States.module.css";
import { cx } from "./cx";

/** Something failed: what happened, in words, and a way to try again. */
export function ErrorState({
  title = "This couldn't be loaded",
  error,
  onRetry,
  actions,
  compact,
}: {
  title?: string;
  error: unknown;
  onRetry?: () => void;
  actions?: ReactNode;
  compact?: boolean;
}) {
  return (
    <div className={cx(styles.state, styles.danger, compact && styles.compact)} role="alert">
      <div className={styles.iconWrap}>
        <AlertTriangle aria-hidden />
      </div>
      <h3 className={styles.title}>{title}</h3>
      <div className={styles.body}>{errorMessage(error)}</div>
      {(onRetry || actions) && (
        <div className={styles.actions}>
          {onRetry && (
            <Button icon={RotateCw} onClick={onRetry}>
              Try again
            </Button>
          )}
          {actions}
        </div>
      )}
    </div>
  );
}
