import * as RadioGroup from "@radix-ui/react-radio-group";
import { useId } from "react";

import styles from "./RadioCards.module.css";

export interface RadioCardOption<T extends string> {
  value: T;
  label: string;
  hint?: string;
}

/** A labelled group of large radio choices (plain-language questions in "Get help"). */
export function RadioCards<T extends string>({
  legend,
  options,
  value,
  onChange,
  name,
}: {
  legend: string;
  options: readonly RadioCardOption<T>[];
  value: T;
  onChange: (value: T) => void;
  name?: string;
}) {
  const legendId = useId();
  return (
    <div className={styles.fieldset}>
      <div id={legendId} className={styles.legend}>
        {legend}
      </div>
      <RadioGroup.Root
        className={styles.group}
        value={value}
        onValueChange={(next) => onChange(next as T)}
        aria-labelledby={legendId}
        name={name}
      >
        {options.map((option) => (
          <RadioGroup.Item key={option.value} value={option.value} className={styles.item} aria-label={option.label}>
            <span className={styles.radio} aria-hidden>
              <RadioGroup.Indicator className={styles.indicator} />
            </span>
            <span className={styles.text}>
              <span className={styles.label}>{option.label}</span>
              {option.hint && <span className={styles.hint}>{option.hint}</span>}
            </span>
          </RadioGroup.Item>
        ))}
      </RadioGroup.Root>
    </div>
  );
}
