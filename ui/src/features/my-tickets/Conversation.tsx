import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  AlertTriangle,
  ArrowUpRight,
  CheckCircle2,
  Info,
  Paperclip,
  RotateCcw,
  Send,
  type LucideIcon,
} from "lucide-react";
import { useEffect, useRef, useState, type KeyboardEvent } from "react";

import type { TicketConversation } from "../../bindings/TicketConversation";
import type { TimelineEntry } from "../../bindings/TimelineEntry";
import { queryKeys } from "../../app/queryClient";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { Callout } from "../../components/Callout";
import { cx } from "../../components/cx";
import { ErrorState } from "../../components/ErrorState";
import { Textarea } from "../../components/Input";
import { Skeleton, SkeletonLines } from "../../components/Skeleton";
import { errorMessage } from "../../lib/errors";
import { formatDateTime, ticketNumber, timeAgo } from "../../lib/format";
import { CATEGORY_LABEL, STATUS_LABEL_FOR_REQUESTER, statusTone, type Tone } from "../../lib/labels";
import { describeEvent } from "../../lib/timeline";
import { useNow } from "../../lib/useNow";
import { myTicket, reopenMyTicket, replyToMyTicket } from "../../ipc";
import { ConsentCard } from "./ConsentCard";
import styles from "./Conversation.module.css";

const TONE_ICON: Partial<Record<Tone, LucideIcon>> = {
  success: CheckCircle2,
  danger: AlertTriangle,
  warning: AlertTriangle,
  info: ArrowUpRight,
};

function Message({ entry, now }: { entry: TimelineEntry; now: Date }) {
  const event = entry.event;
  const mine = entry.actor.kind === "requester";
  const body = event.type === "public_reply" ? event.body : "";
  return (
    <li
      className={cx(styles.message, mine ? styles.mine : styles.theirs)}
      data-testid="timeline-item"
      data-kind={event.type}
    >
      <div className={styles.messageMeta}>
        <span className={styles.author}>{mine ? "You" : entry.actor.name}</span>
        {!mine && <span>Help desk</span>}
        <time dateTime={entry.at} title={formatDateTime(entry.at)}>
          {timeAgo(entry.at, now)}
        </time>
      </div>
      <div className={styles.bubble}>{body}</div>
    </li>
  );
}

function TimelineRow({ entry, description, now }: { entry: TimelineEntry; description: string; now: Date }) {
  const event = entry.event;
  if (event.type === "public_reply") return <Message entry={entry} now={now} />;
  if (event.type === "created") {
    return (
      <li className={cx(styles.message, styles.mine)} data-testid="timeline-item" data-kind="created">
        <div className={styles.messageMeta}>
          <span className={styles.author}>You</span>
          <span>reported this</span>
          <time dateTime={entry.at} title={formatDateTime(entry.at)}>
            {timeAgo(entry.at, now)}
          </time>
        </div>
        <div className={styles.bubble}>{description.trim() || "(No description)"}</div>
      </li>
    );
  }
  const line = describeEvent(event, "requester");
  if (!line) return null;
  const Icon = event.type === "attachment_added" ? Paperclip : (TONE_ICON[line.tone] ?? Info);
  return (
    <li className={cx(styles.event, styles[line.tone])} data-testid="timeline-item" data-kind={event.type}>
      <Icon aria-hidden />
      <span>
        {line.text} · <time dateTime={entry.at}>{timeAgo(entry.at, now)}</time>
      </span>
    </li>
  );
}

function ConversationSkeleton() {
  return (
    <div className={styles.wrap} aria-busy="true">
      <div className={styles.header}>
        <Skeleton width={160} height={14} />
        <Skeleton width="60%" height={24} />
        <Skeleton width={220} height={12} />
      </div>
      <div className={styles.scroll}>
        <SkeletonLines lines={2} height={14} label="Loading the conversation" />
        <Skeleton width="50%" height={64} radius={14} style={{ alignSelf: "flex-end" }} />
        <Skeleton width="55%" height={80} radius={14} />
      </div>
    </div>
  );
}

export function Conversation({ ticketId }: { ticketId: number }) {
  const queryClient = useQueryClient();
  const now = useNow();
  const conversation = useQuery({
    queryKey: queryKeys.myTicket(ticketId),
    queryFn: () => myTicket(ticketId),
    refetchInterval: 30_000,
  });
  const [reply, setReply] = useState("");
  const scrollRef = useRef<HTMLDivElement>(null);

  const applied = (next: TicketConversation) => {
    queryClient.setQueryData(queryKeys.myTicket(ticketId), next);
    void queryClient.invalidateQueries({ queryKey: queryKeys.myTickets });
  };
  const send = useMutation({
    mutationFn: (body: string) => replyToMyTicket(ticketId, body),
    onSuccess: (next) => {
      applied(next);
      setReply("");
    },
  });
  const reopen = useMutation({ mutationFn: () => reopenMyTicket(ticketId), onSuccess: applied });

  // New messages appear at the bottom: keep them in view.
  const entries = conversation.data?.timeline.length ?? 0;
  useEffect(() => {
    const scroller = scrollRef.current;
    if (scroller) scroller.scrollTop = scroller.scrollHeight;
  }, [entries, ticketId]);

  if (conversation.isPending) return <ConversationSkeleton />;
  if (conversation.isError) {
    return (
      <ErrorState
        title="This conversation couldn't be loaded"
        error={conversation.error}
        onRetry={() => void conversation.refetch()}
      />
    );
  }

  const { ticket, timeline, consentRequests } = conversation.data;
  const submitReply = () => {
    if (reply.trim()) send.mutate(reply.trim());
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submitReply();
    }
  };

  return (
    <div className={styles.wrap}>
      <header className={styles.header}>
        <div className={styles.headerTop}>
          <span className={styles.number}>{ticketNumber(ticket.number)}</span>
          <Badge tone={statusTone(ticket.status)} dot>
            {STATUS_LABEL_FOR_REQUESTER[ticket.status]}
          </Badge>
          <Badge shape="square" title="Support level handling your ticket">
            {ticket.tier}
          </Badge>
        </div>
        <h2 className={styles.title}>{ticket.title}</h2>
        <div className={styles.meta}>
          {CATEGORY_LABEL[ticket.category]} · reported {timeAgo(ticket.createdAt, now)} · updated{" "}
          {timeAgo(ticket.updatedAt, now)}
        </div>
      </header>

      <div className={styles.scroll} ref={scrollRef}>
        <ol className={styles.timeline} aria-label="Conversation">
          {timeline.map((entry) => (
            <TimelineRow key={entry.id} entry={entry} description={ticket.description} now={now} />
          ))}
        </ol>
        {consentRequests.map((request) => (
          <ConsentCard key={request.requestId} request={request} ticketId={ticket.id} />
        ))}
        {ticket.status === "resolved" && (
          <Callout
            tone="success"
            title="The help desk thinks this is fixed"
            action={
              <Button icon={RotateCcw} loading={reopen.isPending} onClick={() => reopen.mutate()}>
                Reopen
              </Button>
            }
          >
            Still a problem? Reopen it and tell us what's still wrong. Otherwise it closes by itself in a few days.
          </Callout>
        )}
        {reopen.isError && (
          <Callout tone="danger" role="alert" title="It couldn't be reopened">
            {errorMessage(reopen.error)}
          </Callout>
        )}
      </div>

      {ticket.status === "closed" ? (
        <div className={styles.closed}>
          This ticket is closed. If the problem is back, report it again from Get help — mention{" "}
          {ticketNumber(ticket.number)} so the help desk sees the history.
        </div>
      ) : (
        <div className={styles.composer}>
          <label htmlFor={`reply-${ticketId}`} className="visually-hidden">
            Your reply
          </label>
          <Textarea
            id={`reply-${ticketId}`}
            className={styles.textarea}
            placeholder="Write a reply to the help desk…"
            value={reply}
            onChange={(event) => setReply(event.target.value)}
            onKeyDown={onKeyDown}
          />
          <div className={styles.composerRow}>
            {send.isError ? (
              <span className={styles.composerError} role="alert">
                Not sent. {errorMessage(send.error)}
              </span>
            ) : (
              <span className={styles.composerHint}>Ctrl+Enter to send</span>
            )}
            <Button
              variant="primary"
              icon={Send}
              loading={send.isPending}
              disabled={!reply.trim()}
              onClick={submitReply}
            >
              Send reply
            </Button>
          </div>
        </div>
      )}
    </div>
  );
}
