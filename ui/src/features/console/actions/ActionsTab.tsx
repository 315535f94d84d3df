import { useQuery } from "@tanstack/react-query";
import { MonitorOff, MousePointerClick, Wrench } from "lucide-react";
import { useMemo, useState } from "react";

import type { ActionRequestView } from "../../../bindings/ActionRequestView";
import type { Ticket } from "../../../bindings/Ticket";
import { queryKeys } from "../../../app/queryClient";
import { EmptyState } from "../../../components/EmptyState";
import { ErrorState } from "../../../components/ErrorState";
import { Skeleton } from "../../../components/Skeleton";
import { useNow } from "../../../lib/useNow";
import { actionCatalog } from "../../../ipc";
import { ActionForm } from "./ActionForm";
import { ActionRequestCard } from "./ActionRequestCard";
import styles from "./ActionsTab.module.css";
import { ApprovalBadge, RiskBadge } from "./badges";

export function ActionsTab({ ticket, actions }: { ticket: Ticket; actions: ActionRequestView[] }) {
  const now = useNow(30_000);
  const deviceId = ticket.deviceId;
  const catalog = useQuery({
    queryKey: deviceId ? queryKeys.catalog(deviceId) : ["catalog", "none"],
    queryFn: () => actionCatalog(deviceId!),
    enabled: deviceId !== null,
    staleTime: 5 * 60_000,
  });
  const [selected, setSelected] = useState<string | null>(null);
  const action = catalog.data?.find((candidate) => candidate.id === selected) ?? null;
  const titles = useMemo(
    () => new Map((catalog.data ?? []).map((entry) => [entry.id, entry.title])),
    [catalog.data],
  );
  const newestFirst = useMemo(() => [...actions].sort((a, b) => b.createdAt.localeCompare(a.createdAt)), [actions]);

  if (!deviceId) {
    return (
      <EmptyState icon={MonitorOff} title="No computer to act on">
        Actions run on the requester's enrolled computer, and this ticket wasn't filed from one.
      </EmptyState>
    );
  }

  return (
    <div className={styles.layout}>
      <nav className={styles.catalog} aria-label="Action catalog">
        <h3 className={styles.heading}>Available for this computer</h3>
        {catalog.isPending &&
          Array.from({ length: 6 }, (_, index) => (
            <div key={index} className={styles.catalogItem} aria-hidden>
              <Skeleton width="70%" height={13} />
              <Skeleton width="50%" height={16} radius={999} />
            </div>
          ))}
        {catalog.isError && (
          <ErrorState compact title="The catalog couldn't be loaded" error={catalog.error} onRetry={() => void catalog.refetch()} />
        )}
        {catalog.data?.length === 0 && (
          <p className={styles.description}>No catalog action supports this computer's platform.</p>
        )}
        {catalog.data?.map((entry) => (
          <button
            key={entry.id}
            type="button"
            className={styles.catalogItem}
            aria-pressed={entry.id === selected}
            aria-label={entry.title}
            aria-describedby={`catalog-${entry.id}-badges`}
            onClick={() => setSelected(entry.id)}
          >
            <span className={styles.catalogTitle}>{entry.title}</span>
            <span className={styles.catalogBadges} id={`catalog-${entry.id}-badges`}>
              <RiskBadge risk={entry.risk} />
              <ApprovalBadge approval={entry.approval} />
            </span>
          </button>
        ))}
      </nav>
      <div className={styles.main}>
        {action ? (
          <ActionForm key={action.id} action={action} ticketId={ticket.id} />
        ) : (
          <EmptyState compact icon={MousePointerClick} title="Choose an action">
            Pick an action on the left to see what it does and fill in its details. Risky ones wait for a second
            agent or for the user's consent.
          </EmptyState>
        )}
        <section aria-label="Actions on this ticket">
          <h3 className={styles.sectionTitle}>On this ticket</h3>
          {newestFirst.length === 0 ? (
            <EmptyState compact icon={Wrench} title="No actions yet">
              Requested actions and their results appear here.
            </EmptyState>
          ) : (
            <ul className={styles.requests}>
              {newestFirst.map((request) => (
                <ActionRequestCard key={request.id} request={request} title={titles.get(request.action)} now={now} />
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}
