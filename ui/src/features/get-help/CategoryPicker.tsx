import { useId } from "react";

import type { Category } from "../../bindings/Category";
import { CATEGORIES, CATEGORY_LABEL } from "../../lib/labels";
import { CATEGORY_ICON } from "../../lib/categoryIcons";
import styles from "./CategoryPicker.module.css";

/** Large icon buttons; pressing the chosen one again clears the choice. */
export function CategoryPicker({
  value,
  onChange,
  error,
}: {
  value: Category | null;
  onChange: (category: Category | null) => void;
  error?: string | undefined;
}) {
  const legendId = useId();
  return (
    <div>
      <div id={legendId} className={styles.legend}>
        What is it about?
      </div>
      <div className={styles.group} role="group" aria-labelledby={legendId}>
        {CATEGORIES.map((category) => {
          const Icon = CATEGORY_ICON[category];
          return (
            <button
              key={category}
              type="button"
              className={styles.option}
              aria-pressed={value === category}
              onClick={() => onChange(value === category ? null : category)}
            >
              <Icon className={styles.icon} aria-hidden />
              {CATEGORY_LABEL[category]}
            </button>
          );
        })}
      </div>
      <div className={styles.hint} role={error ? "alert" : undefined}>
        {error ?? "Not sure? Skip it — the help desk will sort it out."}
      </div>
    </div>
  );
}
