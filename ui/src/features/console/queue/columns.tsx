import { createColumnHelper, type ColumnDef } from "@tanstack/react-table";

import type { Ticket } from "../../../bindings/Ticket";
import { CATEGORY_ICON } from "../../../lib/categoryIcons";
import { ticketNumber } from "../../../lib/format";
import { CATEGORY_LABEL, STATUS_LABEL, statusTone } from "../../../lib/labels";
import { Badge } from "../../../components/Badge";
import { PriorityBadge } from "./PriorityBadge";
import styles from "./QueueTable.module.css";
import { SlaBadge } from "./SlaBadge";

/** What cells need besides the ticket; passed through the table's `meta`. */
export interface QueueTableMeta {
  now: Date;
  nameOf: (id: number | null) => string;
}

const column = createColumnHelper<Ticket>();

function meta(context: { table: { options: { meta?: unknown } } }): QueueTableMeta {
  return context.table.options.meta as QueueTableMeta;
}

export const QUEUE_COLUMNS = [
  column.accessor("priority", {
    header: "Pri",
    size: 34,
    cell: (info) => <PriorityBadge priority={info.getValue()} />,
  }),
  column.accessor("number", {
    header: "Ticket",
    size: 76,
    cell: (info) => <span className={styles.number}>{ticketNumber(info.getValue())}</span>,
  }),
  column.accessor("title", {
    header: "Title",
    size: 0,
    cell: (info) => (
      <span className={styles.title} title={info.getValue()}>
        {info.getValue()}
      </span>
    ),
  }),
  column.accessor("category", {
    header: "Cat",
    size: 28,
    cell: (info) => {
      const Icon = CATEGORY_ICON[info.getValue()];
      return <Icon className={styles.categoryIcon} aria-label={CATEGORY_LABEL[info.getValue()]} role="img" />;
    },
  }),
  column.accessor((ticket) => ticket.requester.name, {
    id: "requester",
    header: "Requester",
    size: 132,
    cell: (info) => <span className={styles.muted}>{info.getValue()}</span>,
  }),
  column.accessor("tier", {
    header: "Tier",
    size: 36,
    cell: (info) => <span className={styles.muted}>{info.getValue()}</span>,
  }),
  column.accessor("assigneeId", {
    header: "Assignee",
    size: 120,
    cell: (info) =>
      info.getValue() === null ? (
        <span className={styles.subtle}>Unassigned</span>
      ) : (
        <span className={styles.muted}>{meta(info).nameOf(info.getValue())}</span>
      ),
  }),
  column.accessor("status", {
    header: "Status",
    size: 120,
    cell: (info) => (
      <Badge tone={statusTone(info.getValue())} dot>
        {STATUS_LABEL[info.getValue()]}
      </Badge>
    ),
  }),
  column.display({
    id: "sla",
    header: "SLA",
    size: 156,
    cell: (info) => (
      <SlaBadge sla={info.row.original.sla} status={info.row.original.status} now={meta(info).now} fixedWidth />
    ),
  }),
] as ColumnDef<Ticket, unknown>[];

/** The CSS grid template for the columns shown, so header and rows always line up. */
export function gridTemplate(columns: { columnDef: { size?: number } }[]): string {
  return columns
    .map(({ columnDef }) => (columnDef.size ? `${columnDef.size}px` : "minmax(160px, 1fr)"))
    .join(" ");
}

/** Narrow windows drop the columns an agent can most easily do without, in this order. */
export function visibleColumns(width: number): Record<string, boolean> {
  return {
    requester: width >= 1040,
    tier: width >= 940,
    category: width >= 860,
    assigneeId: width >= 780,
  };
}
