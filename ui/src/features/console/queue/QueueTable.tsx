import { flexRender, getCoreRowModel, useReactTable } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import {
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type KeyboardEvent,
  type ReactNode,
  type Ref,
  type RefObject,
} from "react";

import type { Ticket } from "../../../bindings/Ticket";
import { Skeleton } from "../../../components/Skeleton";
import { useNow } from "../../../lib/useNow";
import { QUEUE_COLUMNS, gridTemplate, visibleColumns, type QueueTableMeta } from "./columns";
import styles from "./QueueTable.module.css";

/** Must match --queue-row-height: fixed-height rows make virtualisation exact and cheap. */
export const QUEUE_ROW_HEIGHT = 36;
/** Start loading the next page this many rows before the end. */
const PREFETCH_ROWS = 40;

export interface QueueTableProps {
  tickets: Ticket[];
  selectedId: number | null;
  openId: number | null;
  onSelect: (id: number) => void;
  onOpen: (id: number) => void;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => void;
  loading: boolean;
  refreshing: boolean;
  nameOf: (id: number | null) => string;
  gridRef?: Ref<HTMLDivElement>;
  /** Shown instead of rows when the queue is empty. */
  emptyState?: ReactNode;
}

export function QueueTable({
  tickets,
  selectedId,
  openId,
  onSelect,
  onOpen,
  hasNextPage,
  isFetchingNextPage,
  fetchNextPage,
  loading,
  refreshing,
  nameOf,
  gridRef,
  emptyState,
}: QueueTableProps) {
  // SLA countdowns move on their own: re-render every 30 s.
  const now = useNow(30_000);
  const meta = useMemo<QueueTableMeta>(() => ({ now, nameOf }), [now, nameOf]);
  const wrapRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(wrapRef);
  const columnVisibility = useMemo(() => visibleColumns(width), [width]);
  const table = useReactTable({
    data: tickets,
    columns: QUEUE_COLUMNS,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (ticket) => String(ticket.id),
    state: { columnVisibility },
    meta,
  });
  const rows = table.getRowModel().rows;

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => QUEUE_ROW_HEIGHT,
    overscan: 12,
    getItemKey: (index) => rows[index]?.id ?? index,
  });
  const items = virtualizer.getVirtualItems();

  // Infinite paging: ask for more as the end comes into view.
  const lastVisible = items[items.length - 1]?.index ?? -1;
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastVisible >= rows.length - PREFETCH_ROWS) fetchNextPage();
  }, [lastVisible, rows.length, hasNextPage, isFetchingNextPage, fetchNextPage]);

  // Keyboard selection must stay in view.
  const selectedIndex = selectedId === null ? -1 : rows.findIndex((row) => row.original.id === selectedId);
  useEffect(() => {
    if (selectedIndex >= 0) virtualizer.scrollToIndex(selectedIndex, { align: "auto" });
  }, [selectedIndex, virtualizer]);

  const onGridKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    // Arrow keys work when the grid has focus; j/k work anywhere (see the console shortcuts).
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    event.preventDefault();
    const next = Math.min(rows.length - 1, Math.max(0, selectedIndex + (event.key === "ArrowDown" ? 1 : -1)));
    const row = rows[next];
    if (row) onSelect(row.original.id);
  };

  const style = { "--queue-columns": gridTemplate(table.getVisibleLeafColumns()) } as CSSProperties;
  const activeId = selectedIndex >= 0 ? `queue-row-${selectedId}` : undefined;

  return (
    <div ref={wrapRef} className={styles.wrap} style={style}>
      <div
        ref={gridRef}
        className={styles.grid}
        role="grid"
        aria-label="Ticket queue"
        aria-rowcount={rows.length + 1}
        aria-activedescendant={activeId}
        aria-busy={loading || undefined}
        tabIndex={0}
        onKeyDown={onGridKeyDown}
      >
        {table.getHeaderGroups().map((group) => (
          <div key={group.id} className={styles.headerRow} role="row" aria-rowindex={1}>
            {group.headers.map((header) => (
              <div key={header.id} role="columnheader" className={styles.cell}>
                {flexRender(header.column.columnDef.header, header.getContext())}
              </div>
            ))}
          </div>
        ))}
        {refreshing && <div className={styles.progress} role="progressbar" aria-label="Updating the queue" />}
        <div ref={scrollRef} className={styles.scroller}>
          {loading ? (
            <div aria-hidden>
              {Array.from({ length: 12 }, (_, index) => (
                <div key={index} className={styles.skeletonRow}>
                  {table.getVisibleLeafColumns().map((column) => (
                    <Skeleton
                      key={column.id}
                      width={column.id === "title" ? `${50 + ((index * 37) % 45)}%` : Math.min(100, column.getSize() - 16)}
                      height={column.id === "status" || column.id === "sla" ? 18 : 12}
                      radius={column.id === "status" || column.id === "sla" ? 999 : undefined}
                    />
                  ))}
                </div>
              ))}
            </div>
          ) : rows.length === 0 ? (
            emptyState
          ) : (
            <div className={styles.body} style={{ height: virtualizer.getTotalSize() }} role="rowgroup">
              {items.map((item) => {
                const row = rows[item.index];
                if (!row) return null;
                const ticket = row.original;
                return (
                  <div
                    key={row.id}
                    id={`queue-row-${ticket.id}`}
                    role="row"
                    aria-rowindex={item.index + 2}
                    aria-selected={ticket.id === selectedId}
                    data-open={ticket.id === openId || undefined}
                    data-testid="queue-row"
                    data-ticket-number={ticket.number}
                    className={styles.row}
                    style={{ transform: `translateY(${item.start}px)` }}
                    onClick={() => {
                      onSelect(ticket.id);
                      onOpen(ticket.id);
                    }}
                  >
                    {row.getVisibleCells().map((cell) => (
                      <div key={cell.id} role="gridcell" className={styles.cell}>
                        {flexRender(cell.column.columnDef.cell, cell.getContext())}
                      </div>
                    ))}
                  </div>
                );
              })}
            </div>
          )}
        </div>
      </div>
    </div>
  );
}

/** The element's width, kept current as the window or the split changes. */
function useElementWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(1280);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    setWidth(element.clientWidth || 1280);
    const observer = new ResizeObserver(() => setWidth(element.clientWidth || 1280));
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}
