import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Play } from "lucide-react";
import { useForm } from "react-hook-form";

import type { ActionRequestView } from "../../../bindings/ActionRequestView";
import type { CatalogAction } from "../../../bindings/CatalogAction";
import type { CatalogParam } from "../../../bindings/CatalogParam";
import { queryKeys } from "../../../app/queryClient";
import { Button } from "../../../components/Button";
import { Callout } from "../../../components/Callout";
import { Field } from "../../../components/Field";
import { Input } from "../../../components/Input";
import { errorMessage } from "../../../lib/errors";
import { sentence } from "../../../lib/formErrors";
import { humanizeKey } from "../../../lib/format";
import { actionStateLabel, actionStateTone } from "../../../lib/labels";
import { IpcError, requestAction } from "../../../ipc";
import { ApprovalBadge, RiskBadge } from "./badges";
import styles from "./ActionsTab.module.css";

type Values = Record<string, string>;

/** "Service name" → "service name", but "PID" stays "PID". */
function inSentence(label: string): string {
  return /^[A-Z]{2,}\b/.test(label) ? label : label.charAt(0).toLowerCase() + label.slice(1);
}

/** The catalog's checks, before the server repeats them: same limits, plainer words. */
export function validateParam(param: CatalogParam, raw: string): true | string {
  const value = raw.trim();
  if (!value) return `Enter the ${inSentence(humanizeKey(param.name))}.`;
  if (param.type === "integer") {
    if (!/^-?\d+$/.test(value)) return "Enter a whole number.";
    const number = Number(value);
    if (param.minimum !== null && number < param.minimum) return `Must be at least ${param.minimum}.`;
    if (param.maximum !== null && number > param.maximum) return `Must be at most ${param.maximum}.`;
    return true;
  }
  if (param.maxLength !== null && value.length > param.maxLength) return `At most ${param.maxLength} characters.`;
  if (param.pattern) {
    let pattern: RegExp | null = null;
    try {
      pattern = new RegExp(`^(?:${param.pattern})$`, "u");
    } catch {
      // A pattern this browser can't read: the server still checks it.
    }
    if (pattern && !pattern.test(value)) return "That value isn't allowed here. Check the format described above.";
  }
  return true;
}

export function toParams(action: CatalogAction, values: Values): Record<string, unknown> {
  return Object.fromEntries(
    action.params.map((param) => {
      const value = (values[param.name] ?? "").trim();
      return [param.name, param.type === "integer" ? Number(value) : value];
    }),
  );
}

export function ActionForm({
  action,
  ticketId,
  onRequested,
}: {
  action: CatalogAction;
  ticketId: number;
  onRequested?: (request: ActionRequestView) => void;
}) {
  const queryClient = useQueryClient();
  const form = useForm<Values>({
    defaultValues: Object.fromEntries(action.params.map((param) => [param.name, ""])),
    mode: "onTouched",
  });
  const request = useMutation({
    mutationFn: (values: Values) => requestAction(ticketId, { action: action.id, params: toParams(action, values) }),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.ticket(ticketId) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.approvals });
      form.reset();
      onRequested?.(created);
    },
    onError: (error) => {
      if (!(error instanceof IpcError)) return;
      for (const field of error.fields) {
        const name = field.field.replace(/^params\./, "");
        if (action.params.some((param) => param.name === name)) form.setError(name, { message: sentence(field.message) });
      }
    },
  });

  return (
    <form className={styles.formCard} onSubmit={form.handleSubmit((values) => request.mutate(values))} noValidate>
      <div>
        <h3 className={styles.formTitle}>{action.title}</h3>
        <p className={styles.description}>{action.description}</p>
      </div>
      <div className={styles.catalogBadges}>
        <RiskBadge risk={action.risk} />
        <ApprovalBadge approval={action.approval} />
      </div>
      {action.params.map((param) => (
        <Field
          key={param.name}
          label={humanizeKey(param.name)}
          hint={param.description}
          error={form.formState.errors[param.name]?.message}
        >
          <Input
            // Named exactly like the catalog parameter, as the catalog documentation does.
            aria-label={param.name}
            inputMode={param.type === "integer" ? "numeric" : undefined}
            autoComplete="off"
            spellCheck={false}
            {...form.register(param.name, { validate: (value) => validateParam(param, value ?? "") })}
          />
        </Field>
      ))}
      <p className={styles.verification}>Afterwards the computer checks: {action.verification}</p>
      {request.isError && !(request.error instanceof IpcError && request.error.code === "validation_failed") && (
        <Callout tone="danger" role="alert" title="Not requested">
          {errorMessage(request.error)}
        </Callout>
      )}
      {request.isSuccess && (
        <Callout tone={actionStateTone(request.data.state) === "danger" ? "danger" : "success"} role="status" title="Requested">
          {actionStateLabel(request.data.state)}.
        </Callout>
      )}
      <div className={styles.formFooter}>
        <Button type="submit" variant="primary" icon={Play} loading={request.isPending}>
          Request action
        </Button>
      </div>
    </form>
  );
}
