import * as RadixSwitch from "@radix-ui/react-switch";

import styles from "./Switch.module.css";

/** An on/off switch. Give it a name with `aria-label` or an associated `<label htmlFor>`. */
export function Switch({
  checked,
  onCheckedChange,
  disabled,
  id,
  ...aria
}: {
  checked: boolean;
  onCheckedChange: (checked: boolean) => void;
  disabled?: boolean;
  id?: string;
  "aria-label"?: string;
  "aria-labelledby"?: string;
  "aria-describedby"?: string;
}) {
  return (
    <RadixSwitch.Root
      id={id}
      className={styles.root}
      checked={checked}
      onCheckedChange={onCheckedChange}
      disabled={disabled}
      {...aria}
    >
      <RadixSwitch.Thumb className={styles.thumb} />
    </RadixSwitch.Root>
  );
}
