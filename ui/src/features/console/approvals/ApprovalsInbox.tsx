import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Check, CheckCheck, ExternalLink, X } from "lucide-react";
import { useState } from "react";

import type { ActionRequestView } from "../../../bindings/ActionRequestView";
import { queryKeys } from "../../../app/queryClient";
import { Button } from "../../../components/Button";
import { Dialog } from "../../../components/Dialog";
import { EmptyState } from "../../../components/EmptyState";
import { ErrorState } from "../../../components/ErrorState";
import { Field } from "../../../components/Field";
import { Textarea } from "../../../components/Input";
import { Skeleton } from "../../../components/Skeleton";
import { actionTitle } from "../../../lib/actions";
import { errorMessage } from "../../../lib/errors";
import { useNow } from "../../../lib/useNow";
import { approvalsInbox, decideAction } from "../../../ipc";
import { ActionRequestCard } from "../actions/ActionRequestCard";
import styles from "./ApprovalsInbox.module.css";

export function useApprovals() {
  return useQuery({ queryKey: queryKeys.approvals, queryFn: approvalsInbox, refetchInterval: 30_000 });
}

function Decision({ request, onOpenTicket }: { request: ActionRequestView; onOpenTicket: (ticketId: number) => void }) {
  const queryClient = useQueryClient();
  const [denying, setDenying] = useState(false);
  const [reason, setReason] = useState("");
  const [reasonError, setReasonError] = useState<string | undefined>();
  const decide = useMutation({
    mutationFn: ({ approve, why }: { approve: boolean; why: string | null }) => decideAction(request.id, approve, why),
    onSuccess: () => {
      setDenying(false);
      void queryClient.invalidateQueries({ queryKey: queryKeys.approvals });
      void queryClient.invalidateQueries({ queryKey: queryKeys.ticket(request.ticketId) });
    },
  });

  const deny = () => {
    if (!reason.trim()) return setReasonError("Say why, so the requesting agent knows what to do instead.");
    decide.mutate({ approve: false, why: reason.trim() });
  };

  return (
    <div className={styles.controls}>
      <Button size="sm" variant="ghost" icon={ExternalLink} className={styles.link} onClick={() => onOpenTicket(request.ticketId)}>
        Open ticket
      </Button>
      {decide.isError && !denying && (
        <span className={styles.error} role="alert">
          {errorMessage(decide.error)}
        </span>
      )}
      <Button size="sm" icon={X} disabled={decide.isPending} onClick={() => setDenying(true)}>
        Deny
      </Button>
      <Button
        size="sm"
        variant="success"
        icon={Check}
        loading={decide.isPending && decide.variables?.approve === true}
        disabled={decide.isPending}
        onClick={() => decide.mutate({ approve: true, why: null })}
      >
        Approve
      </Button>
      <Dialog
        open={denying}
        onOpenChange={(open) => {
          setDenying(open);
          setReasonError(undefined);
        }}
        title={`Deny “${actionTitle(request.action, "agent")}”?`}
        description={`${request.requestedByName} asked for it. They'll see your reason on the ticket.`}
        footer={
          <>
            <Button onClick={() => setDenying(false)}>Cancel</Button>
            <Button variant="danger" icon={X} loading={decide.isPending} onClick={deny}>
              Deny
            </Button>
          </>
        }
      >
        <Field label="Reason" error={reasonError ?? (decide.isError ? errorMessage(decide.error) : undefined)}>
          <Textarea rows={3} autoFocus value={reason} onChange={(event) => setReason(event.target.value)} />
        </Field>
      </Dialog>
    </div>
  );
}

/** Requests waiting for a second agent: approve, or deny with a reason. */
export function ApprovalsInbox({ onOpenTicket }: { onOpenTicket: (ticketId: number) => void }) {
  const approvals = useApprovals();
  const now = useNow(30_000);
  return (
    <div className={styles.page}>
      <div className={styles.content}>
        <header className={styles.header}>
          <h2>Approvals</h2>
          <p>Actions other agents asked for that need a second pair of eyes before they run.</p>
        </header>
        {approvals.isPending && (
          <div aria-busy="true" aria-label="Loading approvals">
            {Array.from({ length: 3 }, (_, index) => (
              <Skeleton key={index} height={96} radius={10} style={{ marginBottom: 12 }} />
            ))}
          </div>
        )}
        {approvals.isError && (
          <ErrorState title="Approvals couldn't be loaded" error={approvals.error} onRetry={() => void approvals.refetch()} />
        )}
        {approvals.data?.length === 0 && (
          <EmptyState icon={CheckCheck} title="Nothing waiting for you">
            When another agent requests an action that needs approval, it shows up here.
          </EmptyState>
        )}
        {approvals.data && approvals.data.length > 0 && (
          <ul className={styles.list}>
            {approvals.data.map((request) => (
              <ActionRequestCard key={request.id} request={request} now={now}>
                <Decision request={request} onOpenTicket={onOpenTicket} />
              </ActionRequestCard>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
