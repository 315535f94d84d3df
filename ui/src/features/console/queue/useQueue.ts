import { useInfiniteQuery, type InfiniteData } from "@tanstack/react-query";
import { useMemo } from "react";

import type { QueuePage } from "../../../bindings/QueuePage";
import type { Ticket } from "../../../bindings/Ticket";
import { queryKeys } from "../../../app/queryClient";
import { queue } from "../../../ipc";
import type { QueueFilters } from "../views";

export const QUEUE_PAGE_SIZE = 200;

export function queueKey(filters: QueueFilters) {
  return [...queryKeys.queue, filters] as const;
}

/** The queue, page by page from the server (or the local cache when offline). */
export function useQueue(filters: QueueFilters) {
  const query = useInfiniteQuery({
    queryKey: queueKey(filters),
    queryFn: ({ pageParam }) => queue({ ...filters, cursor: pageParam, limit: QUEUE_PAGE_SIZE }),
    initialPageParam: null as string | null,
    getNextPageParam: (last: QueuePage) => last.nextCursor ?? undefined,
    refetchInterval: 60_000,
    placeholderData: (previous) => previous,
  });
  const tickets = useMemo<Ticket[]>(() => query.data?.pages.flatMap((page) => page.items) ?? [], [query.data]);
  const fromCache = query.data?.pages.some((page) => page.fromCache) ?? false;
  return { ...query, tickets, fromCache };
}

/** Replaces one ticket wherever it appears in the cached queue pages. */
export function replaceTicketInPages(
  data: InfiniteData<QueuePage, string | null> | undefined,
  ticket: Ticket,
): InfiniteData<QueuePage, string | null> | undefined {
  if (!data) return data;
  let changed = false;
  const pages = data.pages.map((page) => {
    if (!page.items.some((item) => item.id === ticket.id)) return page;
    changed = true;
    return { ...page, items: page.items.map((item) => (item.id === ticket.id ? ticket : item)) };
  });
  return changed ? { ...data, pages } : data;
}
