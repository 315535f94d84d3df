import { useMutation, useQueryClient } from "@tanstack/react-query";
import { AlertCircle, Clock, RefreshCw } from "lucide-react";

import type { AppStatus } from "../bindings/AppStatus";
import { cx } from "../components/cx";
import { Skeleton } from "../components/Skeleton";
import { plural, timeAgo } from "../lib/format";
import { useNow } from "../lib/useNow";
import { syncNow } from "../ipc";
import { queryKeys } from "./queryClient";
import styles from "./StatusBar.module.css";
import { useAppStatus } from "./useAppStatus";

const CONNECTION_WORDS: Record<AppStatus["connection"], string> = {
  online: "Online",
  offline: "Offline — your changes are kept and sent later",
  unknown: "Connecting…",
};

export function StatusBar() {
  const { data: status } = useAppStatus();
  const now = useNow(15_000);
  const queryClient = useQueryClient();
  const sync = useMutation({
    mutationFn: syncNow,
    onSuccess: (next) => {
      queryClient.setQueryData(queryKeys.appStatus, next);
      void queryClient.invalidateQueries({ queryKey: queryKeys.queue });
      void queryClient.invalidateQueries({ queryKey: queryKeys.myTickets });
      void queryClient.invalidateQueries({ queryKey: queryKeys.outbox });
    },
  });

  const connection = status?.connection ?? "unknown";
  return (
    <footer className={styles.bar} data-testid="status-bar" data-connection={connection} aria-label="Connection status">
      {status ? (
        <>
          <span className={cx(styles.item, styles[connection])} role="status">
            <span className={styles.dot} aria-hidden />
            {CONNECTION_WORDS[connection]}
          </span>
          <span className={styles.item}>
            {status.lastSyncedAt ? `Last synced ${timeAgo(status.lastSyncedAt, now)}` : "Not synced yet"}
          </span>
          {status.outboxWaiting > 0 && (
            <span className={cx(styles.item, styles.waiting)}>
              <Clock className={styles.icon} aria-hidden />
              {plural(status.outboxWaiting, "ticket", "tickets")} waiting to send
            </span>
          )}
          {status.outboxFailed > 0 && (
            <span className={cx(styles.item, styles.failed)}>
              <AlertCircle className={styles.icon} aria-hidden />
              {plural(status.outboxFailed, "ticket", "tickets")} couldn't be sent — see My tickets
            </span>
          )}
          <span className={styles.spacer} />
          <span className={styles.server} title={status.serverUrl}>
            {status.serverUrl}
          </span>
          <button
            type="button"
            className={styles.syncButton}
            onClick={() => sync.mutate()}
            aria-busy={sync.isPending}
            disabled={sync.isPending}
          >
            <RefreshCw className={styles.icon} aria-hidden />
            Sync now
          </button>
        </>
      ) : (
        <>
          <Skeleton width={90} height={10} />
          <Skeleton width={120} height={10} />
        </>
      )}
    </footer>
  );
}
