import type { UseQueryResult } from "@tanstack/react-query";
import { CheckCircle2, ChevronRight, ScanSearch, ShieldCheck } from "lucide-react";
import { useId, useState } from "react";

import type { DiagnosticsPreview } from "../../bindings/DiagnosticsPreview";
import { Callout } from "../../components/Callout";
import { cx } from "../../components/cx";
import { ErrorState } from "../../components/ErrorState";
import { Skeleton, SkeletonLines } from "../../components/Skeleton";
import { Switch } from "../../components/Switch";
import { formatBytes } from "../../lib/format";
import { HINT_TONE } from "../../lib/labels";
import styles from "./DiagnosticsPanel.module.css";

/** Whether a section is attached: the user's choice, else the section's default. */
export function isIncluded(
  section: DiagnosticsPreview["sections"][number],
  choices: Record<string, boolean>,
): boolean {
  if (section.unavailableReason !== null) return false;
  return choices[section.id] ?? section.includedByDefault;
}

export function DiagnosticsPanel({
  diagnostics,
  choices,
  onChoice,
}: {
  diagnostics: UseQueryResult<DiagnosticsPreview>;
  choices: Record<string, boolean>;
  onChoice: (sectionId: string, included: boolean) => void;
}) {
  const [expanded, setExpanded] = useState(false);
  const listId = useId();
  const { data } = diagnostics;

  const included = data ? data.sections.filter((section) => isIncluded(section, choices)) : [];
  const includedBytes = included.reduce((sum, section) => sum + section.sizeBytes, 0);

  return (
    <section className={styles.card} aria-labelledby={`${listId}-title`} aria-busy={diagnostics.isPending}>
      <div className={styles.header}>
        <ScanSearch className={styles.headerIcon} aria-hidden />
        <h2 id={`${listId}-title`} className={styles.title}>
          We checked this computer
        </h2>
        {data && <span className={styles.meta}>in {(data.durationMs / 1000).toFixed(1)} s</span>}
      </div>

      <div className={styles.body}>
        {diagnostics.isPending && (
          <>
            <div className={styles.intro}>Looking for common problems…</div>
            <SkeletonLines lines={3} label="Checking this computer" />
          </>
        )}
        {diagnostics.isError && (
          <ErrorState
            compact
            title="We couldn't check this computer"
            error={diagnostics.error}
            onRetry={() => void diagnostics.refetch()}
          />
        )}
        {data && data.hints.length > 0 && (
          <>
            <div className={styles.intro}>
              This might be the cause. If fixing it solves the problem, you don't need to send anything.
            </div>
            {data.hints.map((hint) => (
              <Callout key={hint.id} tone={HINT_TONE[hint.severity]} title={hint.title}>
                {hint.detail}
              </Callout>
            ))}
          </>
        )}
        {data && data.hints.length === 0 && (
          <div className={styles.allGood}>
            <CheckCircle2 aria-hidden />
            No common problems found.
          </div>
        )}
      </div>

      <div className={styles.attach}>
        <button
          type="button"
          className={styles.disclosure}
          aria-expanded={expanded}
          aria-controls={listId}
          onClick={() => setExpanded((open) => !open)}
          disabled={!data}
        >
          <ChevronRight className={styles.chevron} aria-hidden />
          <span className={styles.disclosureText}>What we'll attach</span>
          <span className={styles.disclosureMeta}>
            {data ? (
              `${included.length} of ${data.sections.length} sections · ${formatBytes(includedBytes)}`
            ) : (
              <Skeleton width={110} height={10} />
            )}
          </span>
        </button>
        {expanded && data && (
          <>
            <ul id={listId} className={styles.sections}>
              {data.sections.map((section) => {
                const on = isIncluded(section, choices);
                const labelId = `${listId}-${section.id}`;
                return (
                  <li key={section.id} className={cx(styles.section, !on && styles.off)}>
                    <Switch
                      checked={on}
                      disabled={section.unavailableReason !== null}
                      onCheckedChange={(checked) => onChoice(section.id, checked)}
                      aria-labelledby={labelId}
                    />
                    <div className={styles.sectionText}>
                      <div className={styles.sectionTitle}>
                        <span id={labelId}>{section.title}</span>
                        {section.unavailableReason === null && (
                          <span className={styles.size}>{formatBytes(section.sizeBytes)}</span>
                        )}
                      </div>
                      {section.unavailableReason !== null ? (
                        <div className={styles.unavailable}>Not available: {section.unavailableReason}</div>
                      ) : (
                        <ul className={styles.summary}>
                          {section.summary.map((line) => (
                            <li key={line} title={line}>
                              {line}
                            </li>
                          ))}
                        </ul>
                      )}
                    </div>
                  </li>
                );
              })}
            </ul>
            <div className={styles.privacy} data-testid="sharing-note">
              <ShieldCheck aria-hidden />
              {data.rememberedChoices
                ? "Set as you left them last time. Only the help desk sees these details; what you switch off stays off, and this computer won't send it in the background either."
                : "Only the help desk sees these details. Switch off anything you'd rather not share: it stays off next time, and this computer won't send it in the background either."}
            </div>
          </>
        )}
      </div>
    </section>
  );
}
