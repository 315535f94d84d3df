import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";

import type { AppStatus } from "../bindings/AppStatus";
import { appStatus, onStatusChanged } from "../ipc";
import { queryKeys } from "./queryClient";

/** The app's status for every screen: polled, and replaced whenever the backend pushes one. */
export function useAppStatus() {
  return useQuery({
    queryKey: queryKeys.appStatus,
    queryFn: appStatus,
    refetchInterval: 15_000,
    staleTime: 5_000,
  });
}

/**
 * Subscribes once (in the shell) to the backend's status events. A new sync means the local
 * cache changed, so lists that come from it are refetched.
 */
export function useStatusEvents() {
  const queryClient = useQueryClient();
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let disposed = false;
    onStatusChanged((status) => {
      const previous = queryClient.getQueryData<AppStatus>(queryKeys.appStatus);
      queryClient.setQueryData(queryKeys.appStatus, status);
      const synced = status.lastSyncedAt !== previous?.lastSyncedAt;
      const outboxMoved =
        status.outboxWaiting !== previous?.outboxWaiting || status.outboxFailed !== previous?.outboxFailed;
      if (synced || outboxMoved) {
        void queryClient.invalidateQueries({ queryKey: queryKeys.myTickets });
        void queryClient.invalidateQueries({ queryKey: queryKeys.outbox });
      }
      if (synced) {
        void queryClient.invalidateQueries({ queryKey: queryKeys.queue });
      }
    })
      .then((stop) => {
        if (disposed) stop();
        else unlisten = stop;
      })
      // Outside Tauri (a plain browser during development) there are no events; polling
      // still keeps the status bar right.
      .catch(() => undefined);
    return () => {
      disposed = true;
      unlisten?.();
    };
  }, [queryClient]);
}
