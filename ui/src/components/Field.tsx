import { AlertCircle } from "lucide-react";
import { cloneElement, isValidElement, useId, type ReactElement, type ReactNode } from "react";

import styles from "./Field.module.css";
import { cx } from "./cx";

export interface FieldProps {
  label: ReactNode;
  hint?: ReactNode;
  error?: string | undefined;
  optional?: boolean;
  /** Shows "120 / 200" under the field. */
  count?: { value: number; max: number };
  className?: string;
  /** A single input-like element; it receives id, aria-invalid and aria-describedby. */
  children: ReactElement<Record<string, unknown>>;
}

/** A label, the control, and room for a hint or an error that never shifts the layout. */
export function Field({ label, hint, error, optional, count, className, children }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  const control = isValidElement(children)
    ? cloneElement(children, {
        id: (children.props.id as string | undefined) ?? id,
        "aria-invalid": error ? true : undefined,
        "aria-describedby": describedBy,
      })
    : children;
  const controlId = (isValidElement(children) && (children.props.id as string | undefined)) || id;
  return (
    <div className={cx(styles.field, className)}>
      <label className={styles.label} htmlFor={controlId}>
        {label}
        {optional && <span className={styles.optional}>(optional)</span>}
      </label>
      {hint && (
        <div id={hintId} className={styles.hint}>
          {hint}
        </div>
      )}
      {control}
      {(error || count) && (
        <div className={styles.footer}>
          {error ? (
            <div id={errorId} className={styles.error} role="alert">
              <AlertCircle className={styles.errorIcon} aria-hidden />
              <span>{error}</span>
            </div>
          ) : (
            <span />
          )}
          {count && (
            <span className={cx(styles.counter, count.value > count.max && styles.counterOver)} aria-hidden>
              {count.value.toLocaleString()} / {count.max.toLocaleString()}
            </span>
          )}
        </div>
      )}
    </div>
  );
}

export { styles as fieldStyles };
