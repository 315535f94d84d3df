import { ChevronDown, FilterX, Save, Search, type LucideIcon } from "lucide-react";
import { useEffect, useRef, useState, type Ref } from "react";

import type { SlaState } from "../../../bindings/SlaState";
import { Button } from "../../../components/Button";
import { Input } from "../../../components/Input";
import { Kbd } from "../../../components/Kbd";
import { Menu, MenuCheckboxItem, MenuItem, MenuLabel, MenuSeparator } from "../../../components/Menu";
import { CATEGORY_ICON } from "../../../lib/categoryIcons";
import {
  CATEGORIES,
  CATEGORY_LABEL,
  PRIORITIES,
  PRIORITY_LABEL,
  STATUSES,
  STATUS_LABEL,
  TIERS,
} from "../../../lib/labels";
import { useStaff } from "../useStaff";
import { sameFilters, type QueueFilters } from "../views";
import styles from "./FiltersBar.module.css";

const SLA_STATES: { value: SlaState; label: string }[] = [
  { value: "on_track", label: "On track" },
  { value: "at_risk", label: "At risk" },
  { value: "breached", label: "Breached" },
  { value: "paused", label: "Paused (waiting on user)" },
];

const SEARCH_DEBOUNCE_MS = 250;

function toggle<T>(list: readonly T[], value: T, on: boolean): T[] {
  return on ? [...list.filter((item) => item !== value), value] : list.filter((item) => item !== value);
}

function MultiFilter<T extends string>({
  label,
  values,
  options,
  onChange,
}: {
  label: string;
  values: readonly T[];
  options: readonly { value: T; label: string; icon?: LucideIcon }[];
  onChange: (values: T[]) => void;
}) {
  return (
    <Menu
      label={`${label} filter`}
      trigger={
        <Button
          size="sm"
          className={styles.filterButton}
          data-active={values.length > 0}
          trailing={<ChevronDown size={13} aria-hidden />}
        >
          {label}
          {values.length > 0 && (
            <span className={styles.count} aria-label={`${values.length} selected`}>
              {values.length}
            </span>
          )}
        </Button>
      }
    >
      {options.map((option) => (
        <MenuCheckboxItem
          key={option.value}
          checked={values.includes(option.value)}
          onCheckedChange={(on) => onChange(toggle(values, option.value, on))}
          icon={option.icon}
        >
          {option.label}
        </MenuCheckboxItem>
      ))}
      {values.length > 0 && (
        <>
          <MenuSeparator />
          <MenuItem onSelect={() => onChange([])}>Clear</MenuItem>
        </>
      )}
    </Menu>
  );
}

export function FiltersBar({
  filters,
  viewFilters,
  onChange,
  onSaveView,
  total,
  hasMore,
  searchRef,
}: {
  filters: QueueFilters;
  /** The selected view's own filters, to offer "Reset" once they are changed. */
  viewFilters: QueueFilters;
  onChange: (filters: QueueFilters) => void;
  onSaveView: () => void;
  total: number;
  hasMore: boolean;
  searchRef?: Ref<HTMLInputElement>;
}) {
  const staff = useStaff();
  const [text, setText] = useState(filters.q ?? "");
  const latest = useRef(filters);
  latest.current = filters;

  // Follow outside changes (switching views) without fighting the person typing.
  useEffect(() => setText(filters.q ?? ""), [filters.q]);

  useEffect(() => {
    const q = text.trim() || null;
    if (q === (latest.current.q ?? null)) return;
    const timer = window.setTimeout(() => onChange({ ...latest.current, q }), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text, onChange]);

  const assigneeLabel =
    filters.assignee === null
      ? "Assignee"
      : filters.assignee === "me"
        ? "Assignee: me"
        : filters.assignee === "none"
          ? "Unassigned"
          : `Assignee: ${staff.nameOf(Number(filters.assignee))}`;
  const changed = !sameFilters(filters, viewFilters);

  return (
    <div className={styles.bar} role="search" aria-label="Queue filters">
      <div className={styles.search}>
        <Search className={styles.searchIcon} aria-hidden />
        <Input
          ref={searchRef}
          className={styles.searchInput}
          type="search"
          placeholder="Search tickets"
          aria-label="Search tickets"
          value={text}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Escape") {
              setText("");
              event.currentTarget.blur();
            }
          }}
        />
        {!text && (
          <span className={styles.searchKey} aria-hidden>
            <Kbd>/</Kbd>
          </span>
        )}
      </div>
      <MultiFilter
        label="Status"
        values={filters.status}
        options={STATUSES.map((value) => ({ value, label: STATUS_LABEL[value] }))}
        onChange={(status) => onChange({ ...filters, status })}
      />
      <MultiFilter
        label="Priority"
        values={filters.priority}
        options={PRIORITIES.map((value) => ({ value, label: PRIORITY_LABEL[value] }))}
        onChange={(priority) => onChange({ ...filters, priority })}
      />
      <MultiFilter
        label="Category"
        values={filters.category}
        options={CATEGORIES.map((value) => ({ value, label: CATEGORY_LABEL[value], icon: CATEGORY_ICON[value] }))}
        onChange={(category) => onChange({ ...filters, category })}
      />
      <MultiFilter
        label="Tier"
        values={filters.tier}
        options={TIERS.map((value) => ({ value, label: value }))}
        onChange={(tier) => onChange({ ...filters, tier })}
      />
      <MultiFilter
        label="SLA"
        values={filters.slaState}
        options={SLA_STATES}
        onChange={(slaState) => onChange({ ...filters, slaState })}
      />
      <Menu
        label="Assignee filter"
        trigger={
          <Button
            size="sm"
            className={styles.filterButton}
            data-active={filters.assignee !== null}
            trailing={<ChevronDown size={13} aria-hidden />}
          >
            {assigneeLabel}
          </Button>
        }
      >
        <MenuItem checked={filters.assignee === null} onSelect={() => onChange({ ...filters, assignee: null })}>
          Anyone
        </MenuItem>
        <MenuItem checked={filters.assignee === "me"} onSelect={() => onChange({ ...filters, assignee: "me" })}>
          Me
        </MenuItem>
        <MenuItem checked={filters.assignee === "none"} onSelect={() => onChange({ ...filters, assignee: "none" })}>
          Unassigned
        </MenuItem>
        {staff.active.length > 0 && <MenuSeparator />}
        {staff.active.length > 0 && <MenuLabel>Agents</MenuLabel>}
        {staff.active.map((member) => (
          <MenuItem
            key={member.id}
            checked={filters.assignee === String(member.id)}
            onSelect={() => onChange({ ...filters, assignee: String(member.id) })}
          >
            {member.displayName}
          </MenuItem>
        ))}
      </Menu>
      {changed && (
        <Button size="sm" variant="ghost" icon={FilterX} onClick={() => onChange(viewFilters)}>
          Reset
        </Button>
      )}
      <div className={styles.spacer} />
      <span className={styles.total} aria-live="polite">
        {total.toLocaleString()}
        {hasMore ? "+" : ""} {total === 1 ? "ticket" : "tickets"}
      </span>
      {changed && (
        <Button size="sm" variant="ghost" icon={Save} onClick={onSaveView}>
          Save view
        </Button>
      )}
    </div>
  );
}
