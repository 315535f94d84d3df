import { useQueryClient } from "@tanstack/react-query";
import {
  ArrowUpRight,
  CloudOff,
  Keyboard,
  LogOut,
  MessageSquareReply,
  Moon,
  NotebookPen,
  Search,
  SearchX,
  UserRound,
  UserRoundCheck,
  Flag,
  Star,
} from "lucide-react";
import { useCallback, useMemo, useRef, useState, type CSSProperties } from "react";

import type { AppStatus } from "../../bindings/AppStatus";
import { queryKeys } from "../../app/queryClient";
import type { useTheme } from "../../app/theme";
import { useAppStatus } from "../../app/useAppStatus";
import { Button } from "../../components/Button";
import { EmptyState } from "../../components/EmptyState";
import { ErrorState } from "../../components/ErrorState";
import { Spinner } from "../../components/Spinner";
import { timeAgo } from "../../lib/format";
import { signOut } from "../../ipc";
import { ApprovalsInbox, useApprovals } from "./approvals/ApprovalsInbox";
import { CommandPalette, type PaletteCommand } from "./CommandPalette";
import styles from "./ConsoleScreen.module.css";
import { FiltersBar } from "./queue/FiltersBar";
import { QueueTable } from "./queue/QueueTable";
import { useQueue } from "./queue/useQueue";
import { SaveViewDialog } from "./SaveViewDialog";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { Sidebar } from "./Sidebar";
import { SignInForm } from "./SignInForm";
import { SplitHandle, useQueueShare } from "./SplitHandle";
import { TicketPane, type TicketCommand } from "./ticket/TicketPane";
import { useConsoleShortcuts } from "./useConsoleShortcuts";
import { useStaff } from "./useStaff";
import {
  BUILT_IN_VIEWS,
  DEFAULT_VIEW_ID,
  loadLastViewId,
  loadSavedViews,
  storeLastViewId,
  storeSavedViews,
  type ConsoleView,
  type QueueFilters,
} from "./views";

/** The agents' console: a sign-in form until someone is signed in. */
export function ConsoleScreen({ theme }: { theme: ReturnType<typeof useTheme> }) {
  const status = useAppStatus();
  if (status.isPending) {
    return (
      <div className={styles.loadingGate}>
        <Spinner size={20} label="Loading" />
      </div>
    );
  }
  if (status.isError) {
    return <ErrorState title="The app status couldn't be read" error={status.error} onRetry={() => void status.refetch()} />;
  }
  if (!status.data.staff) return <SignInForm />;
  return <ConsoleWorkspace status={status.data} theme={theme} />;
}

function ConsoleWorkspace({ status, theme }: { status: AppStatus; theme: ReturnType<typeof useTheme> }) {
  const queryClient = useQueryClient();
  const staff = useStaff();
  const approvals = useApprovals();
  const [savedViews, setSavedViews] = useState<ConsoleView[]>(loadSavedViews);
  const allViews = useMemo(() => [...BUILT_IN_VIEWS, ...savedViews], [savedViews]);
  const [viewId, setViewId] = useState(loadLastViewId);
  const view =
    allViews.find((candidate) => candidate.id === viewId) ??
    BUILT_IN_VIEWS.find((candidate) => candidate.id === DEFAULT_VIEW_ID)!;
  const [filters, setFilters] = useState<QueueFilters>(view.filters);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [openId, setOpenId] = useState<number | null>(null);
  const [command, setCommand] = useState<TicketCommand | null>(null);
  const [paletteOpen, setPaletteOpen] = useState(false);
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  const [saveOpen, setSaveOpen] = useState(false);
  const [queueShare, setQueueShare] = useQueueShare();
  const splitStyle = { "--queue-share": `${queueShare}%` } as CSSProperties;
  const searchRef = useRef<HTMLInputElement>(null);
  const gridRef = useRef<HTMLDivElement>(null);

  const queue = useQueue(filters);
  const tickets = queue.tickets;
  const isQueueView = view.kind === "queue";

  const selectView = useCallback((next: ConsoleView) => {
    setViewId(next.id);
    storeLastViewId(next.id);
    setFilters(next.filters);
    setSelectedId(null);
  }, []);

  const move = (delta: 1 | -1) => {
    if (!isQueueView || tickets.length === 0) return;
    const index = selectedId === null ? -1 : tickets.findIndex((ticket) => ticket.id === selectedId);
    const nextIndex = index === -1 ? (delta === 1 ? 0 : tickets.length - 1) : index + delta;
    const next = tickets[Math.min(tickets.length - 1, Math.max(0, nextIndex))];
    if (next) setSelectedId(next.id);
  };

  // r / n / e / a act on the open ticket; with none open, on the selected one (opening it).
  const ticketCommand = (kind: TicketCommand["kind"]) => {
    const target = openId ?? selectedId;
    if (target === null) return;
    if (openId === null) setOpenId(target);
    setCommand({ kind, ticketId: target, seq: Date.now() });
  };

  const openTicket = (id: number) => {
    setOpenId(id);
    setSelectedId(id);
  };

  useConsoleShortcuts({
    next: () => move(1),
    previous: () => move(-1),
    open: () => selectedId !== null && setOpenId(selectedId),
    reply: () => ticketCommand("reply"),
    note: () => ticketCommand("note"),
    escalate: () => ticketCommand("escalate"),
    assign: () => ticketCommand("assign"),
    search: () => searchRef.current?.focus(),
    palette: () => setPaletteOpen(true),
    help: () => setShortcutsOpen(true),
  });

  const saveView = (name: string) => {
    const created: ConsoleView = { id: `saved-${Date.now()}`, name, icon: Star, kind: "queue", filters, saved: true };
    const next = [...savedViews, created];
    storeSavedViews(next);
    setSavedViews(next);
    setViewId(created.id);
    storeLastViewId(created.id);
  };

  const deleteView = (target: ConsoleView) => {
    const next = savedViews.filter((existing) => existing.id !== target.id);
    storeSavedViews(next);
    setSavedViews(next);
    if (viewId === target.id) selectView(BUILT_IN_VIEWS.find((candidate) => candidate.id === DEFAULT_VIEW_ID)!);
  };

  const ticketOpen = openId !== null || selectedId !== null;
  const commands: PaletteCommand[] = useMemo(() => {
    const list: PaletteCommand[] = allViews.map((candidate) => ({
      id: `view-${candidate.id}`,
      label: `Go to ${candidate.name}`,
      group: "Views",
      icon: candidate.icon,
      keywords: "view queue",
      run: () => selectView(candidate),
    }));
    if (ticketOpen) {
      list.push(
        { id: "reply", label: "Reply to requester", group: "Ticket", icon: MessageSquareReply, keys: "r", run: () => ticketCommand("reply") },
        { id: "note", label: "Add internal note", group: "Ticket", icon: NotebookPen, keys: "n", run: () => ticketCommand("note") },
        { id: "escalate", label: "Escalate to next tier", group: "Ticket", icon: ArrowUpRight, keys: "e", run: () => ticketCommand("escalate") },
        { id: "assign", label: "Assign…", group: "Ticket", icon: UserRoundCheck, keys: "a", run: () => ticketCommand("assign") },
        { id: "assign-me", label: "Assign to me", group: "Ticket", icon: UserRound, keywords: "take mine", run: () => ticketCommand("assign-me") },
        { id: "priority", label: "Change priority…", group: "Ticket", icon: Flag, keywords: "override", run: () => ticketCommand("priority") },
      );
    }
    list.push(
      { id: "search", label: "Search the queue", group: "General", icon: Search, keys: "/", run: () => searchRef.current?.focus() },
      { id: "shortcuts", label: "Show keyboard shortcuts", group: "General", icon: Keyboard, keys: "?", run: () => setShortcutsOpen(true) },
      { id: "theme", label: theme.resolved === "dark" ? "Switch to light theme" : "Switch to dark theme", group: "General", icon: Moon, keywords: "dark light appearance", run: theme.toggle },
      {
        id: "sign-out",
        label: "Sign out",
        group: "General",
        icon: LogOut,
        keywords: "log out",
        run: () =>
          void signOut().then((next) => {
            queryClient.setQueryData(queryKeys.appStatus, next);
            queryClient.removeQueries({ queryKey: queryKeys.queue });
          }),
      },
    );
    return list;
    // ticketCommand closes over openId/selectedId, which ticketOpen tracks.
  }, [allViews, ticketOpen, openId, selectedId, theme, selectView, queryClient]);

  const searchFor = useCallback(
    (query: string): PaletteCommand[] =>
      query
        ? [
            {
              id: "search-for",
              label: `Search tickets for “${query}”`,
              group: "Search",
              icon: Search,
              run: () => {
                if (view.kind !== "queue") selectView(BUILT_IN_VIEWS.find((candidate) => candidate.id === "all-open")!);
                setFilters((current) => ({ ...current, q: query.replace(/^hd-/i, "") }));
              },
            },
          ]
        : [],
    [view.kind, selectView],
  );

  const emptyQueue = queue.isError ? (
    <ErrorState compact title="The queue couldn't be loaded" error={queue.error} onRetry={() => void queue.refetch()} />
  ) : filters.q ? (
    <EmptyState compact icon={SearchX} title={`No tickets match “${filters.q}”`} actions={<Button size="sm" onClick={() => setFilters({ ...filters, q: null })}>Clear search</Button>}>
      Try fewer words, or check the filters above.
    </EmptyState>
  ) : (
    <EmptyState compact title="Nothing here" actions={<Button size="sm" onClick={() => selectView(BUILT_IN_VIEWS.find((candidate) => candidate.id === "all-open")!)}>Show all open tickets</Button>}>
      No tickets match this view right now. Nice.
    </EmptyState>
  );

  return (
    <div className={styles.workspace}>
      <Sidebar
        views={BUILT_IN_VIEWS}
        savedViews={savedViews}
        activeId={view.id}
        approvalsCount={approvals.data?.length}
        onSelect={selectView}
        onDeleteSaved={deleteView}
        onOpenPalette={() => setPaletteOpen(true)}
        onOpenShortcuts={() => setShortcutsOpen(true)}
      />
      <div className={styles.main}>
        {isQueueView ? (
          <div className={styles.split} style={splitStyle}>
            <section className={styles.queuePane} aria-label={view.name}>
              <FiltersBar
                filters={filters}
                viewFilters={view.filters}
                onChange={setFilters}
                onSaveView={() => setSaveOpen(true)}
                total={tickets.length}
                hasMore={queue.hasNextPage}
                searchRef={searchRef}
              />
              {queue.fromCache && (
                <div className={styles.offline} role="status">
                  <CloudOff aria-hidden />
                  Offline — showing cached tickets
                  {status.lastSyncedAt ? ` from ${timeAgo(status.lastSyncedAt)}` : ""}. They update when the connection is back.
                </div>
              )}
              <QueueTable
                tickets={tickets}
                selectedId={selectedId}
                openId={openId}
                onSelect={setSelectedId}
                onOpen={setOpenId}
                hasNextPage={queue.hasNextPage}
                isFetchingNextPage={queue.isFetchingNextPage}
                fetchNextPage={() => void queue.fetchNextPage()}
                loading={queue.isPending}
                refreshing={queue.isPlaceholderData || (queue.isFetching && !queue.isFetchingNextPage && !queue.isPending)}
                nameOf={staff.nameOf}
                gridRef={gridRef}
                emptyState={emptyQueue}
              />
            </section>
            <SplitHandle share={queueShare} onChange={setQueueShare} />
            <section className={styles.ticketPane} aria-label="Ticket">
              {openId !== null ? (
                <TicketPane key={openId} ticketId={openId} me={status.staff} command={command} />
              ) : (
                <EmptyState title="No ticket open">
                  Pick a ticket in the queue, or move with <kbd>j</kbd> / <kbd>k</kbd> and press <kbd>Enter</kbd>.
                </EmptyState>
              )}
            </section>
          </div>
        ) : openId !== null ? (
          <div className={styles.split} style={splitStyle}>
            <section className={styles.queuePane}>
              <ApprovalsInbox onOpenTicket={openTicket} />
            </section>
            <SplitHandle share={queueShare} onChange={setQueueShare} />
            <section className={styles.ticketPane} aria-label="Ticket">
              <TicketPane key={openId} ticketId={openId} me={status.staff} command={command} />
            </section>
          </div>
        ) : (
          <ApprovalsInbox onOpenTicket={openTicket} />
        )}
      </div>
      <CommandPalette open={paletteOpen} onOpenChange={setPaletteOpen} commands={commands} dynamicCommands={searchFor} />
      <ShortcutsDialog open={shortcutsOpen} onOpenChange={setShortcutsOpen} />
      <SaveViewDialog
        open={saveOpen}
        onOpenChange={setSaveOpen}
        onSave={saveView}
        existingNames={savedViews.map((saved) => saved.name)}
      />
    </div>
  );
}
