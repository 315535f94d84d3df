import { ArrowUpRight, Flag } from "lucide-react";
import { useEffect, useState } from "react";

import type { Priority } from "../../../bindings/Priority";
import type { Ticket } from "../../../bindings/Ticket";
import type { TicketChange } from "../../../bindings/TicketChange";
import { Button } from "../../../components/Button";
import { Dialog } from "../../../components/Dialog";
import { Field } from "../../../components/Field";
import { Textarea } from "../../../components/Input";
import { RadioCards } from "../../../components/RadioCards";
import { sentence } from "../../../lib/formErrors";
import { PRIORITIES, PRIORITY_LABEL } from "../../../lib/labels";
import { IpcError } from "../../../ipc";
import { nextTier } from "./optimistic";

const MAX_REASON = 2000;

function reasonProblem(reason: string): string | null {
  if (!reason.trim()) return "Say why — the next person relies on it.";
  if (reason.length > MAX_REASON) return `Keep it to ${MAX_REASON.toLocaleString()} characters or fewer.`;
  return null;
}

function serverFieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof IpcError)) return undefined;
  const match = error.fields.find((candidate) => candidate.field === field);
  return match ? sentence(match.message) : undefined;
}

/** Escalating always carries a reason: the receiving tier sees what was already tried. */
export function EscalateDialog({
  open,
  onOpenChange,
  ticket,
  onSubmit,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  ticket: Ticket;
  onSubmit: (change: TicketChange) => Promise<unknown>;
}) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const target = nextTier(ticket.tier);
  useEffect(() => {
    if (open) {
      setReason("");
      setError(undefined);
    }
  }, [open]);

  const submit = async () => {
    const problem = reasonProblem(reason);
    if (problem) return setError(problem);
    setBusy(true);
    try {
      await onSubmit({ kind: "escalate", reason: reason.trim() });
      onOpenChange(false);
    } catch (failure) {
      const fieldError = serverFieldError(failure, "reason");
      if (fieldError) setError(fieldError);
      // Anything else is shown above the ticket; the dialog has done its part.
      else onOpenChange(false);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title={target ? `Escalate to ${target}` : "Already at the highest tier"}
      description={
        target
          ? `The ${target} team takes over and sees the whole timeline. Tell them what you've tried and why it needs them.`
          : "This ticket is with L3, the highest tier. Add an internal note or talk to a supervisor instead."
      }
      footer={
        <>
          <Button onClick={() => onOpenChange(false)}>Cancel</Button>
          {target && (
            <Button variant="primary" icon={ArrowUpRight} loading={busy} onClick={() => void submit()}>
              Escalate to {target}
            </Button>
          )}
        </>
      }
    >
      {target && (
        <Field label="Reason" error={error} count={reason.length > MAX_REASON * 0.8 ? { value: reason.length, max: MAX_REASON } : undefined}>
          <Textarea
            autoFocus
            rows={4}
            value={reason}
            placeholder="Restarted the spooler and cleared the queue; the printer still drops jobs after a minute."
            onChange={(event) => setReason(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) void submit();
            }}
          />
        </Field>
      )}
    </Dialog>
  );
}

/** Overriding the impact × urgency matrix needs a reason on record. */
export function PriorityDialog({
  open,
  onOpenChange,
  ticket,
  onSubmit,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  ticket: Ticket;
  onSubmit: (change: TicketChange) => Promise<unknown>;
}) {
  const [priority, setPriority] = useState<Priority>(ticket.priority);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (open) {
      setPriority(ticket.priority);
      setReason("");
      setError(undefined);
    }
  }, [open, ticket.priority]);

  const submit = async () => {
    const problem = reasonProblem(reason);
    if (problem) return setError(problem);
    setBusy(true);
    try {
      await onSubmit({ kind: "priority", priority, reason: reason.trim() });
      onOpenChange(false);
    } catch (failure) {
      const fieldError = serverFieldError(failure, "reason");
      if (fieldError) setError(fieldError);
      else onOpenChange(false);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      wide
      title="Change priority"
      description={`The matrix says ${ticket.priority} for this impact and urgency. An override changes the SLA targets and is recorded with your reason.`}
      footer={
        <>
          <Button onClick={() => onOpenChange(false)}>Cancel</Button>
          <Button
            variant="primary"
            icon={Flag}
            loading={busy}
            disabled={priority === ticket.priority && !ticket.priorityOverrideReason}
            onClick={() => void submit()}
          >
            Set {priority}
          </Button>
        </>
      }
    >
      <RadioCards
        legend="New priority"
        value={priority}
        onChange={setPriority}
        options={PRIORITIES.map((value) => ({ value, label: PRIORITY_LABEL[value] }))}
      />
      <Field label="Reason" error={error}>
        <Textarea
          rows={3}
          value={reason}
          placeholder="The CEO's laptop: board meeting in an hour."
          onChange={(event) => setReason(event.target.value)}
        />
      </Field>
    </Dialog>
  );
}
