import { useQuery } from "@tanstack/react-query";
import { Cpu, MessagesSquare, Wrench } from "lucide-react";
import { useEffect, useRef, useState } from "react";

import type { AppStatus } from "../../../bindings/AppStatus";
import type { TicketChange } from "../../../bindings/TicketChange";
import { queryKeys } from "../../../app/queryClient";
import { Button } from "../../../components/Button";
import { Callout } from "../../../components/Callout";
import { ErrorState } from "../../../components/ErrorState";
import { Skeleton, SkeletonLines } from "../../../components/Skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "../../../components/Tabs";
import { sentence } from "../../../lib/formErrors";
import { useNow } from "../../../lib/useNow";
import { IpcError, ticketDetail } from "../../../ipc";
import { ActionsTab } from "../actions/ActionsTab";
import { DeviceTab } from "../device/DeviceTab";
import { useStaff } from "../useStaff";
import { Composer, type ComposerMode } from "./Composer";
import { EscalateDialog, PriorityDialog } from "./ReasonDialogs";
import { TicketDetailsPanel } from "./TicketDetailsPanel";
import { TicketHeader } from "./TicketHeader";
import styles from "./TicketPane.module.css";
import { TicketTimeline } from "./TicketTimeline";
import { useTicketChange } from "./useTicketChange";

/** A keyboard command aimed at the open ticket; `seq` makes repeats distinct. */
export interface TicketCommand {
  kind: "reply" | "note" | "escalate" | "assign" | "assign-me" | "priority";
  /** The ticket it was meant for: a command never carries over to the next ticket opened. */
  ticketId: number;
  seq: number;
}

type Tab = "ticket" | "device" | "actions";

const ACTIVE_ACTION_STATES = new Set(["queued", "running", "approved", "consented", "requested"]);

function PaneSkeleton() {
  return (
    <div className={styles.pane} aria-busy="true" aria-label="Loading the ticket">
      <div className={styles.skeleton}>
        <Skeleton width={80} height={12} />
        <Skeleton width="55%" height={20} />
        <Skeleton width={320} height={16} />
      </div>
      <div className={styles.skeleton}>
        <SkeletonLines lines={3} />
        <Skeleton height={72} radius={10} />
      </div>
    </div>
  );
}

export function TicketPane({
  ticketId,
  me,
  command,
}: {
  ticketId: number;
  me: AppStatus["staff"];
  command: TicketCommand | null;
}) {
  const now = useNow(30_000);
  const staff = useStaff();
  const detail = useQuery({
    queryKey: queryKeys.ticket(ticketId),
    queryFn: () => ticketDetail(ticketId),
    // An action in flight finishes within seconds: follow it closely, then relax.
    refetchInterval: (query) =>
      query.state.data?.actions.some((action) => ACTIVE_ACTION_STATES.has(action.state)) ? 2_000 : 30_000,
  });
  const change = useTicketChange(ticketId);
  const [tab, setTab] = useState<Tab>("ticket");
  const [mode, setMode] = useState<ComposerMode>("reply");
  const [escalateOpen, setEscalateOpen] = useState(false);
  const [priorityOpen, setPriorityOpen] = useState(false);
  const [assignOpen, setAssignOpen] = useState(false);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const scrollRef = useRef<HTMLDivElement>(null);
  const loaded = detail.isSuccess;

  // Keyboard commands from the console (r, n, e, a) once the ticket is on screen.
  const handled = useRef<number | null>(null);
  useEffect(() => {
    if (!command || command.ticketId !== ticketId || !loaded || handled.current === command.seq) return;
    handled.current = command.seq;
    switch (command.kind) {
      case "reply":
      case "note":
        setTab("ticket");
        setMode(command.kind);
        // After the tab is shown and the textarea enabled.
        window.setTimeout(() => textareaRef.current?.focus(), 0);
        break;
      case "escalate":
        setEscalateOpen(true);
        break;
      case "priority":
        setPriorityOpen(true);
        break;
      case "assign":
        setAssignOpen(true);
        break;
      case "assign-me":
        if (me) change.mutate({ kind: "assign", assigneeId: me.userId });
        break;
    }
  }, [command, ticketId, loaded, me, change]);

  // Newest events at the bottom, next to the composer.
  const entries = detail.data?.timeline.length ?? 0;
  useEffect(() => {
    const scroller = scrollRef.current;
    if (scroller) scroller.scrollTop = scroller.scrollHeight;
  }, [entries, ticketId, tab]);

  if (detail.isPending) return <PaneSkeleton />;
  if (detail.isError) {
    return <ErrorState title="This ticket couldn't be opened" error={detail.error} onRetry={() => void detail.refetch()} />;
  }

  const { ticket, timeline, actions } = detail.data;
  const send = async (next: TicketChange) => {
    try {
      await change.mutateAsync(next);
      return true;
    } catch {
      return false;
    }
  };
  const composerError =
    change.error instanceof IpcError && change.error.code === "validation_failed"
      ? change.error.fields.map((field) => sentence(field.message)).join(" ") || sentence(change.error.message)
      : undefined;

  return (
    <div className={styles.pane}>
      <TicketHeader
        ticket={ticket}
        me={me}
        now={now}
        change={(next) => change.mutate(next)}
        assignOpen={assignOpen}
        onAssignOpenChange={setAssignOpen}
        onEscalate={() => setEscalateOpen(true)}
        onPriority={() => setPriorityOpen(true)}
      />
      {change.problem && (
        <Callout
          className={styles.banner}
          tone={change.problem.kind === "conflict" ? "warning" : "danger"}
          role="alert"
          title={change.problem.kind === "conflict" ? "This ticket changed" : "That didn't work"}
          action={
            <Button size="sm" variant="ghost" onClick={change.clearProblem}>
              Dismiss
            </Button>
          }
        >
          {change.problem.message}
        </Callout>
      )}
      <Tabs value={tab} onValueChange={(value) => setTab(value as Tab)} className={styles.pane}>
        <TabsList aria-label="Ticket sections">
          <TabsTrigger value="ticket" aria-label="Ticket">
            <MessagesSquare aria-hidden />
            Ticket
          </TabsTrigger>
          <TabsTrigger value="device" aria-label="Device">
            <Cpu aria-hidden />
            Device
          </TabsTrigger>
          {/* The label keeps the name "Actions" whatever the count says. */}
          <TabsTrigger value="actions" aria-label="Actions">
            <Wrench aria-hidden />
            Actions
            {actions.length > 0 && (
              <span className={styles.count} aria-hidden>
                {actions.length}
              </span>
            )}
          </TabsTrigger>
        </TabsList>
        <TabsContent value="ticket">
          <div className={styles.ticketTab}>
            <div className={styles.conversation}>
              <div className={styles.timelineScroll} ref={scrollRef}>
                <TicketTimeline ticket={ticket} timeline={timeline} now={now} nameOf={staff.nameOf} />
              </div>
              <Composer
                key={ticket.id}
                mode={mode}
                onModeChange={setMode}
                onSend={send}
                sending={change.isPending && (change.variables?.kind === "reply" || change.variables?.kind === "note")}
                error={composerError}
                disabledReason={ticket.status === "closed" && mode === "reply" ? "This ticket is closed. Reopen it to reply." : null}
                textareaRef={textareaRef}
              />
            </div>
            <TicketDetailsPanel ticket={ticket} now={now} />
          </div>
        </TabsContent>
        <TabsContent value="device">
          <DeviceTab deviceId={ticket.deviceId} ticketId={ticket.id} />
        </TabsContent>
        <TabsContent value="actions">
          <ActionsTab ticket={ticket} actions={actions} />
        </TabsContent>
      </Tabs>
      <EscalateDialog open={escalateOpen} onOpenChange={setEscalateOpen} ticket={ticket} onSubmit={change.mutateAsync} />
      <PriorityDialog open={priorityOpen} onOpenChange={setPriorityOpen} ticket={ticket} onSubmit={change.mutateAsync} />
    </div>
  );
}
