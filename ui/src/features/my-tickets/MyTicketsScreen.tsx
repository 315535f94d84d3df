import { useQuery } from "@tanstack/react-query";
import { Inbox, LifeBuoy, MessagesSquare } from "lucide-react";
import { useEffect, useMemo, useState } from "react";

import { useNavigation } from "../../app/navigation";
import { queryKeys } from "../../app/queryClient";
import { Button } from "../../components/Button";
import { EmptyState } from "../../components/EmptyState";
import { ErrorState } from "../../components/ErrorState";
import { Skeleton } from "../../components/Skeleton";
import { useNow } from "../../lib/useNow";
import { myTickets, outboxEntries } from "../../ipc";
import { Conversation } from "./Conversation";
import { MyTicketItem, OutboxItem } from "./MyTicketList";
import styles from "./MyTicketsScreen.module.css";
import { TemporaryPasswordDialog } from "./TemporaryPasswordDialog";
import { collectTemporaryPasswords } from "./temporaryPasswords";

export function MyTicketsScreen() {
  const navigation = useNavigation();
  const now = useNow();
  const tickets = useQuery({ queryKey: queryKeys.myTickets, queryFn: myTickets, refetchInterval: 30_000 });
  const outbox = useQuery({ queryKey: queryKeys.outbox, queryFn: outboxEntries, refetchInterval: 15_000 });
  const [selectedId, setSelectedId] = useState<number | null>(navigation.requestedMyTicket);

  useEffect(() => {
    void collectTemporaryPasswords();
    // A reset can finish while this screen is open: look again now and then.
    const timer = window.setInterval(() => void collectTemporaryPasswords(), 20_000);
    return () => window.clearInterval(timer);
  }, []);

  useEffect(() => {
    if (navigation.requestedMyTicket !== null) {
      setSelectedId(navigation.requestedMyTicket);
      navigation.clearRequestedMyTicket();
    }
  }, [navigation]);

  const sorted = useMemo(
    () => [...(tickets.data ?? [])].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)),
    [tickets.data],
  );
  const pending = useMemo(
    () =>
      [...(outbox.data ?? [])]
        .filter((entry) => entry.delivery !== "sent")
        // Failed ones need the person; waiting ones only need time.
        .sort((a, b) => Number(b.delivery === "failed") - Number(a.delivery === "failed")),
    [outbox.data],
  );

  const shownId = selectedId ?? sorted[0]?.id ?? null;
  const nothingAtAll = tickets.isSuccess && sorted.length === 0 && pending.length === 0;

  return (
    <div className={styles.layout}>
      <TemporaryPasswordDialog />
      <section className={styles.listPane} aria-label="My tickets">
        <div className={styles.listHeader}>
          <h1 className={styles.listTitle}>My tickets</h1>
          <Button size="sm" icon={LifeBuoy} onClick={() => navigation.go("get-help")}>
            New
          </Button>
        </div>
        <ul className={styles.list}>
          {pending.length > 0 && <li className={styles.groupLabel}>Not sent yet</li>}
          {pending.map((entry) => (
            <OutboxItem key={entry.id} entry={entry} now={now} />
          ))}
          {pending.length > 0 && sorted.length > 0 && <li className={styles.groupLabel}>Sent</li>}
          {tickets.isPending &&
            Array.from({ length: 4 }, (_, index) => (
              <li key={index} className={styles.skeletonItem} aria-hidden>
                <Skeleton width={140} height={10} />
                <Skeleton width="85%" height={14} />
              </li>
            ))}
          {sorted.map((ticket) => (
            <MyTicketItem
              key={ticket.id}
              ticket={ticket}
              selected={ticket.id === shownId}
              onSelect={() => setSelectedId(ticket.id)}
              now={now}
            />
          ))}
        </ul>
        {tickets.isError && (
          <ErrorState
            compact
            title="Your tickets couldn't be loaded"
            error={tickets.error}
            onRetry={() => void tickets.refetch()}
          />
        )}
      </section>

      <section className={styles.detailPane} aria-label="Conversation">
        {shownId !== null ? (
          <Conversation key={shownId} ticketId={shownId} />
        ) : nothingAtAll ? (
          <EmptyState
            icon={Inbox}
            title="No tickets yet"
            actions={
              <Button variant="primary" icon={LifeBuoy} onClick={() => navigation.go("get-help")}>
                Get help
              </Button>
            }
          >
            When you report a problem, it shows up here with every reply from the help desk.
          </EmptyState>
        ) : tickets.isPending ? null : (
          <EmptyState icon={MessagesSquare} title="Pick a ticket">
            Choose a ticket on the left to see the conversation.
          </EmptyState>
        )}
      </section>
    </div>
  );
}
