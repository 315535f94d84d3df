import { useMutation, useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { useState } from "react";

import type { AppStatus } from "../../../bindings/AppStatus";
import type { QueuePage } from "../../../bindings/QueuePage";
import type { TicketChange } from "../../../bindings/TicketChange";
import type { TicketDetail } from "../../../bindings/TicketDetail";
import { queryKeys } from "../../../app/queryClient";
import { errorMessage } from "../../../lib/errors";
import { IpcError, changeTicket } from "../../../ipc";
import { replaceTicketInPages } from "../queue/useQueue";
import { applyToDetail } from "./optimistic";

export interface ChangeProblem {
  kind: "conflict" | "error";
  message: string;
}

type QueueSnapshot = [readonly unknown[], InfiniteData<QueuePage, string | null> | undefined][];

/**
 * Every ticket change: optimistic in the ticket view and the queue, rolled back on failure.
 * A `conflict` means someone else changed the ticket first: the latest version is fetched
 * and shown, with a message saying so, and nothing the agent typed is thrown away.
 */
export function useTicketChange(ticketId: number) {
  const queryClient = useQueryClient();
  const [problem, setProblem] = useState<ChangeProblem | null>(null);
  const detailKey = queryKeys.ticket(ticketId);

  const mutation = useMutation({
    mutationFn: (change: TicketChange) => {
      const current = queryClient.getQueryData<TicketDetail>(detailKey);
      if (!current) throw new IpcError({ code: "internal", message: "The ticket isn't loaded yet.", fields: [] });
      // The optimistic copy keeps the version the agent saw: that is what the server checks.
      return changeTicket(ticketId, current.ticket.version, change);
    },
    onMutate: async (change) => {
      setProblem(null);
      await queryClient.cancelQueries({ queryKey: detailKey });
      const previous = queryClient.getQueryData<TicketDetail>(detailKey);
      const queueSnapshot: QueueSnapshot = queryClient.getQueriesData<InfiniteData<QueuePage, string | null>>({
        queryKey: queryKeys.queue,
      });
      if (previous) {
        const me = queryClient.getQueryData<AppStatus>(queryKeys.appStatus)?.staff ?? null;
        const optimistic = applyToDetail(previous, change, me, new Date());
        queryClient.setQueryData(detailKey, optimistic);
        queryClient.setQueriesData<InfiniteData<QueuePage, string | null>>({ queryKey: queryKeys.queue }, (data) =>
          replaceTicketInPages(data, optimistic.ticket),
        );
      }
      return { previous, queueSnapshot };
    },
    onError: (error, _change, context) => {
      if (context?.previous) queryClient.setQueryData(detailKey, context.previous);
      for (const [key, data] of context?.queueSnapshot ?? []) queryClient.setQueryData(key, data);
      if (error instanceof IpcError && error.code === "conflict") {
        setProblem({
          kind: "conflict",
          message: "Someone else changed this ticket — here is the latest version. Check it, then try again.",
        });
        void queryClient.invalidateQueries({ queryKey: detailKey });
        void queryClient.invalidateQueries({ queryKey: queryKeys.queue });
      } else if (!(error instanceof IpcError && error.code === "validation_failed")) {
        // Field problems are shown next to the field by whoever asked for the change.
        setProblem({ kind: "error", message: errorMessage(error) });
      }
    },
    onSuccess: (detail) => {
      queryClient.setQueryData(detailKey, detail);
      queryClient.setQueriesData<InfiniteData<QueuePage, string | null>>({ queryKey: queryKeys.queue }, (data) =>
        replaceTicketInPages(data, detail.ticket),
      );
    },
  });

  return { ...mutation, problem, clearProblem: () => setProblem(null) };
}
