import { useMutation, useQueryClient } from "@tanstack/react-query";
import { AlertCircle, Clock, Trash2 } from "lucide-react";

import type { OutboxEntry } from "../../bindings/OutboxEntry";
import type { Ticket } from "../../bindings/Ticket";
import { queryKeys } from "../../app/queryClient";
import { Badge } from "../../components/Badge";
import { Button } from "../../components/Button";
import { cx } from "../../components/cx";
import { CATEGORY_ICON } from "../../lib/categoryIcons";
import { sentence } from "../../lib/formErrors";
import { timeAgo, ticketNumber } from "../../lib/format";
import { STATUS_LABEL_FOR_REQUESTER, statusTone } from "../../lib/labels";
import { discardOutboxEntry } from "../../ipc";
import styles from "./MyTicketsScreen.module.css";

export function OutboxItem({ entry, now }: { entry: OutboxEntry; now: Date }) {
  const queryClient = useQueryClient();
  const discard = useMutation({
    mutationFn: () => discardOutboxEntry(entry.id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.outbox });
      void queryClient.invalidateQueries({ queryKey: queryKeys.appStatus });
    },
  });
  const failed = entry.delivery === "failed";
  return (
    <li className={cx(styles.outboxItem, failed && styles.outboxFailed)}>
      <div className={styles.itemTop}>
        {failed ? (
          <Badge tone="danger" icon={AlertCircle}>
            Couldn't send
          </Badge>
        ) : (
          <Badge tone="warning" icon={Clock}>
            Waiting to send
          </Badge>
        )}
        <span className={styles.itemMeta}>Written {timeAgo(entry.createdAt, now)}</span>
      </div>
      <div className={styles.itemTitle}>{entry.title}</div>
      {failed && (
        <div className={styles.outboxReason}>
          Couldn't send: {entry.lastError ? sentence(entry.lastError.message) : "the help desk refused it."}
        </div>
      )}
      <div className={styles.outboxActions}>
        <span>
          {failed
            ? "Discard it and write it again."
            : "Sent automatically when the help desk is reachable."}
        </span>
        <Button size="sm" variant="ghost" icon={Trash2} loading={discard.isPending} onClick={() => discard.mutate()}>
          Discard
        </Button>
      </div>
    </li>
  );
}

export function MyTicketItem({
  ticket,
  selected,
  onSelect,
  now,
}: {
  ticket: Ticket;
  selected: boolean;
  onSelect: () => void;
  now: Date;
}) {
  const Icon = CATEGORY_ICON[ticket.category];
  return (
    <li>
      <button type="button" className={styles.item} aria-current={selected} onClick={onSelect}>
        <span className={styles.itemTop}>
          <Icon className={styles.categoryIcon} aria-hidden />
          <span className={styles.itemNumber}>{ticketNumber(ticket.number)}</span>
          <Badge tone={statusTone(ticket.status)} dot>
            {STATUS_LABEL_FOR_REQUESTER[ticket.status]}
          </Badge>
          <span className={styles.itemMeta}>{timeAgo(ticket.updatedAt, now)}</span>
        </span>
        <span className={styles.itemTitle}>{ticket.title}</span>
      </button>
    </li>
  );
}
