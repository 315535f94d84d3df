import { Command, Keyboard, X } from "lucide-react";

import { IconButton } from "../../components/Button";
import { Kbd } from "../../components/Kbd";
import { commandKeyLabel } from "../../lib/keyboard";
import styles from "./Sidebar.module.css";
import type { ConsoleView } from "./views";

function ViewItem({
  view,
  active,
  count,
  onSelect,
  onDelete,
}: {
  view: ConsoleView;
  active: boolean;
  count?: number | undefined;
  onSelect: () => void;
  onDelete?: () => void;
}) {
  const Icon = view.icon;
  return (
    <div className={styles.itemRow}>
      <button type="button" className={styles.item} aria-current={active ? "page" : undefined} onClick={onSelect}>
        <Icon aria-hidden />
        <span className={styles.name}>{view.name}</span>
        {count !== undefined && count > 0 && (
          <span className={styles.count} aria-label={`${count} waiting`}>
            {count}
          </span>
        )}
      </button>
      {onDelete && (
        <IconButton className={styles.delete} icon={X} size="sm" label={`Delete view ${view.name}`} onClick={onDelete} />
      )}
    </div>
  );
}

export function Sidebar({
  views,
  savedViews,
  activeId,
  approvalsCount,
  onSelect,
  onDeleteSaved,
  onOpenPalette,
  onOpenShortcuts,
}: {
  views: readonly ConsoleView[];
  savedViews: ConsoleView[];
  activeId: string;
  approvalsCount: number | undefined;
  onSelect: (view: ConsoleView) => void;
  onDeleteSaved: (view: ConsoleView) => void;
  onOpenPalette: () => void;
  onOpenShortcuts: () => void;
}) {
  return (
    <nav className={styles.sidebar} aria-label="Console views">
      <div className={styles.scroll}>
        <div className={styles.group}>
          <h2 className={styles.groupTitle}>Views</h2>
          {views.map((view) => (
            <ViewItem
              key={view.id}
              view={view}
              active={view.id === activeId}
              count={view.kind === "approvals" ? approvalsCount : undefined}
              onSelect={() => onSelect(view)}
            />
          ))}
        </div>
        <div className={styles.group}>
          <h2 className={styles.groupTitle}>Saved views</h2>
          {savedViews.length === 0 && (
            <p className={styles.empty}>Filter the queue, then choose "Save view" to keep it here.</p>
          )}
          {savedViews.map((view) => (
            <ViewItem
              key={view.id}
              view={view}
              active={view.id === activeId}
              onSelect={() => onSelect(view)}
              onDelete={() => onDeleteSaved(view)}
            />
          ))}
        </div>
      </div>
      <div className={styles.footer}>
        <button type="button" className={styles.item} onClick={onOpenPalette}>
          <Command aria-hidden />
          <span className={styles.name}>Command palette</span>
          <span className={styles.keys} aria-hidden>
            <Kbd>{commandKeyLabel}</Kbd>
          </span>
        </button>
        <button type="button" className={styles.item} onClick={onOpenShortcuts}>
          <Keyboard aria-hidden />
          <span className={styles.name}>Keyboard shortcuts</span>
          <span className={styles.keys} aria-hidden>
            <Kbd>?</Kbd>
          </span>
        </button>
      </div>
    </nav>
  );
}
