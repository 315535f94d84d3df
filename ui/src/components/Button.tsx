import type { LucideIcon } from "lucide-react";
import type { ButtonHTMLAttributes, ReactNode, Ref } from "react";

import styles from "./Button.module.css";
import { Spinner } from "./Spinner";
import { Tooltip } from "./Tooltip";
import { cx } from "./cx";

export type ButtonVariant = "primary" | "secondary" | "ghost" | "danger" | "success";
export type ButtonSize = "sm" | "md" | "lg";

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: ButtonVariant;
  size?: ButtonSize;
  icon?: LucideIcon;
  /** Shown after the label (chevrons, shortcut hints). */
  trailing?: ReactNode;
  loading?: boolean;
  ref?: Ref<HTMLButtonElement>;
}

export function Button({
  variant = "secondary",
  size = "md",
  icon: Icon,
  trailing,
  loading = false,
  className,
  children,
  disabled,
  type = "button",
  ref,
  ...rest
}: ButtonProps) {
  return (
    <button
      ref={ref}
      type={type}
      className={cx(styles.button, styles[variant], size !== "md" && styles[size], loading && styles.loading, className)}
      disabled={disabled || loading}
      aria-busy={loading || undefined}
      {...rest}
    >
      <span className={styles.label}>
        {Icon && <Icon className={styles.icon} aria-hidden />}
        {children}
        {trailing}
      </span>
      {loading && (
        <span className={styles.spinner}>
          <Spinner size={size === "sm" ? 12 : 14} />
        </span>
      )}
    </button>
  );
}

export interface IconButtonProps extends Omit<ButtonProps, "children" | "icon"> {
  icon: LucideIcon;
  /** The accessible name, also shown as a tooltip. */
  label: string;
  /** Extra words in the tooltip, e.g. a shortcut. */
  hint?: string;
}

export function IconButton({ icon: Icon, label, hint, variant = "ghost", size = "md", className, ...rest }: IconButtonProps) {
  return (
    <Tooltip content={hint ? `${label} · ${hint}` : label}>
      <Button
        variant={variant}
        size={size}
        aria-label={label}
        className={cx(styles.iconOnly, className)}
        {...rest}
      >
        <Icon className={styles.icon} aria-hidden />
      </Button>
    </Tooltip>
  );
}
