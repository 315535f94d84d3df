// Console views: the built-in queues and the agent's own saved filters (kept in
// localStorage on this computer; they are a personal convenience, not shared data).
import {
  AlarmClock,
  CheckSquare,
  Inbox,
  Layers,

  Star,
  UserRound,
  UserX,
  type LucideIcon,
} from "lucide-react";

import type { QueueQuery } from "../../bindings/QueueQuery";
import { OPEN_STATUSES } from "../../lib/labels";

export type QueueFilters = Omit<QueueQuery, "cursor" | "limit">;

export interface ConsoleView {
  id: string;
  name: string;
  icon: LucideIcon;
  kind: "queue" | "approvals";
  filters: QueueFilters;
  saved?: boolean;
}

export const EMPTY_FILTERS: QueueFilters = {
  status: [],
  priority: [],
  category: [],
  tier: [],
  slaState: [],
  assignee: null,
  q: null,
};

const open = (extra: Partial<QueueFilters>): QueueFilters => ({
  ...EMPTY_FILTERS,
  status: [...OPEN_STATUSES],
  ...extra,
});

export const BUILT_IN_VIEWS: readonly ConsoleView[] = [
  { id: "mine", name: "My tickets", icon: UserRound, kind: "queue", filters: open({ assignee: "me" }) },
  { id: "unassigned", name: "Unassigned", icon: UserX, kind: "queue", filters: open({ assignee: "none" }) },
  { id: "l1", name: "L1 queue", icon: Layers, kind: "queue", filters: open({ tier: ["L1"] }) },
  { id: "l2", name: "L2 queue", icon: Layers, kind: "queue", filters: open({ tier: ["L2"] }) },
  { id: "l3", name: "L3 queue", icon: Layers, kind: "queue", filters: open({ tier: ["L3"] }) },
  {
    id: "breaching",
    name: "Breaching soon",
    icon: AlarmClock,
    kind: "queue",
    filters: open({ slaState: ["at_risk", "breached"] }),
  },
  { id: "all-open", name: "All open", icon: Inbox, kind: "queue", filters: open({}) },
  { id: "approvals", name: "Approvals", icon: CheckSquare, kind: "approvals", filters: EMPTY_FILTERS },
];

/** New tickets land unassigned: "All open", sorted by SLA risk, shows them at once. */
export const DEFAULT_VIEW_ID = "all-open";

const LAST_VIEW_KEY = "deskside.console.lastView";

export function loadLastViewId(): string {
  try {
    return localStorage.getItem(LAST_VIEW_KEY) ?? DEFAULT_VIEW_ID;
  } catch {
    return DEFAULT_VIEW_ID;
  }
}

export function storeLastViewId(id: string): void {
  try {
    localStorage.setItem(LAST_VIEW_KEY, id);
  } catch {
    // Only a convenience.
  }
}

const STORAGE_KEY = "deskside.console.savedViews";

interface StoredView {
  id: string;
  name: string;
  filters: QueueFilters;
}

export function loadSavedViews(): ConsoleView[] {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return [];
    const parsed = JSON.parse(raw) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((view): view is StoredView => typeof view?.id === "string" && typeof view?.name === "string")
      .map((view) => ({
        id: view.id,
        name: view.name,
        icon: Star,
        kind: "queue",
        filters: { ...EMPTY_FILTERS, ...view.filters },
        saved: true,
      }));
  } catch {
    return [];
  }
}

export function storeSavedViews(views: ConsoleView[]): void {
  const stored: StoredView[] = views.map(({ id, name, filters }) => ({ id, name, filters }));
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
  } catch {
    // Full or unavailable storage: the view lasts for this session.
  }
}

export function sameFilters(a: QueueFilters, b: QueueFilters): boolean {
  return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
}

function normalise(filters: QueueFilters): QueueFilters {
  return {
    status: [...filters.status].sort(),
    priority: [...filters.priority].sort(),
    category: [...filters.category].sort(),
    tier: [...filters.tier].sort(),
    slaState: [...filters.slaState].sort(),
    assignee: filters.assignee ?? null,
    q: filters.q?.trim() || null,
  };
}

