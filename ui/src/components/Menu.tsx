import * as RadixMenu from "@radix-ui/react-dropdown-menu";
import { Check, type LucideIcon } from "lucide-react";
import type { ReactNode } from "react";

import styles from "./Menu.module.css";

/** A dropdown menu. `trigger` must be a focusable element (usually a Button). */
export function Menu({
  trigger,
  children,
  open,
  onOpenChange,
  align = "start",
  label,
}: {
  trigger: ReactNode;
  children: ReactNode;
  open?: boolean;
  onOpenChange?: (open: boolean) => void;
  align?: "start" | "end" | "center";
  label?: string;
}) {
  return (
    <RadixMenu.Root open={open} onOpenChange={onOpenChange} modal={false}>
      <RadixMenu.Trigger asChild>{trigger}</RadixMenu.Trigger>
      <RadixMenu.Portal>
        <RadixMenu.Content className={styles.content} align={align} sideOffset={4} aria-label={label}>
          {children}
        </RadixMenu.Content>
      </RadixMenu.Portal>
    </RadixMenu.Root>
  );
}

export function MenuItem({
  icon: Icon,
  children,
  onSelect,
  checked,
  disabled,
  hint,
}: {
  icon?: LucideIcon;
  children: ReactNode;
  onSelect: () => void;
  checked?: boolean;
  disabled?: boolean;
  hint?: ReactNode;
}) {
  return (
    <RadixMenu.Item className={styles.item} onSelect={onSelect} disabled={disabled}>
      {Icon && <Icon className={styles.itemIcon} aria-hidden />}
      <span>{children}</span>
      {checked && <Check className={styles.check} aria-label="current" />}
      {!checked && hint && <span className={styles.hint}>{hint}</span>}
    </RadixMenu.Item>
  );
}

export function MenuLabel({ children }: { children: ReactNode }) {
  return <RadixMenu.Label className={styles.label}>{children}</RadixMenu.Label>;
}

export function MenuSeparator() {
  return <RadixMenu.Separator className={styles.separator} />;
}

/** A menu entry that toggles, for multi-select filters; the menu stays open. */
export function MenuCheckboxItem({
  checked,
  onCheckedChange,
  children,
  icon: Icon,
}: {
  checked: boolean;
  onCheckedChange: (checked: boolean) => void;
  children: ReactNode;
  icon?: LucideIcon;
}) {
  return (
    <RadixMenu.CheckboxItem
      className={styles.item}
      checked={checked}
      onCheckedChange={onCheckedChange}
      onSelect={(event) => event.preventDefault()}
    >
      <span className={styles.checkbox} data-checked={checked || undefined} aria-hidden>
        {checked && <Check />}
      </span>
      {Icon && <Icon className={styles.itemIcon} aria-hidden />}
      <span>{children}</span>
    </RadixMenu.CheckboxItem>
  );
}
