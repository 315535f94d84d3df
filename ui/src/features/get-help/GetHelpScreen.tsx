import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Send } from "lucide-react";
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { Controller, useForm } from "react-hook-form";

import type { ContactPreference } from "../../bindings/ContactPreference";
import type { ScreenshotPreview } from "../../bindings/ScreenshotPreview";
import type { SubmitOutcome } from "../../bindings/SubmitOutcome";
import type { FieldError } from "../../bindings/FieldError";
import { useNavigation } from "../../app/navigation";
import { queryKeys } from "../../app/queryClient";
import { useAppStatus } from "../../app/useAppStatus";
import { Button } from "../../components/Button";
import { Callout } from "../../components/Callout";
import { Field } from "../../components/Field";
import { Input, Select, Textarea } from "../../components/Input";
import { RadioCards } from "../../components/RadioCards";
import { Kbd } from "../../components/Kbd";
import { errorMessage } from "../../lib/errors";
import { routeFieldErrors, sentence } from "../../lib/formErrors";
import { IMPACT_OPTIONS, URGENCY_OPTIONS } from "../../lib/labels";
import { isMac } from "../../lib/keyboard";
import { IpcError, collectDiagnostics, outboxEntries, submitTicket } from "../../ipc";
import { CategoryPicker } from "./CategoryPicker";
import { DiagnosticsPanel, isIncluded } from "./DiagnosticsPanel";
import { clearDraft, loadDraft, saveDraft } from "./draftStore";
import styles from "./GetHelpScreen.module.css";
import { ScreenshotAttachment } from "./ScreenshotAttachment";
import { SubmitConfirmation, SubmitWaiting } from "./SubmitResult";
import {
  EMPTY_VALUES,
  FORM_FIELDS,
  MAX_DESCRIPTION_CHARS,
  MAX_TITLE_CHARS,
  toTicketDraft,
  type GetHelpValues,
} from "./values";

type Result =
  | { kind: "sent"; outcome: SubmitOutcome; contactPreference: ContactPreference }
  | { kind: "waiting" };

const CONTACT_LABEL: Record<ContactPreference, string> = {
  app: "In this app",
  email: "By email",
  phone: "By phone",
};

function validateContactDetail(value: string, values: GetHelpValues): true | string {
  const detail = value.trim();
  if (values.contactPreference === "email") {
    if (!detail) return "Enter the email address we should write to.";
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(detail)) return "That doesn't look like an email address (name@example.com).";
  }
  if (values.contactPreference === "phone") {
    if (!detail) return "Enter the number we should call.";
    if ((detail.match(/\d/g) ?? []).length < 4) return "That doesn't look like a phone number.";
  }
  return true;
}

export function GetHelpScreen() {
  const navigation = useNavigation();
  const queryClient = useQueryClient();
  const endUser = useAppStatus().data?.endUser;
  const draft = useRef(loadDraft()).current;

  const form = useForm<GetHelpValues>({ defaultValues: draft?.values ?? EMPTY_VALUES, mode: "onTouched" });
  const { register, control, handleSubmit, formState, setError, watch, reset, getValues } = form;
  const [screenshot, setScreenshot] = useState<ScreenshotPreview | null>(draft?.screenshot ?? null);
  const [sectionChoices, setSectionChoices] = useState<Record<string, boolean>>(draft?.sections ?? {});
  const [result, setResult] = useState<Result | null>(null);
  const [formProblem, setFormProblem] = useState<{ message: string; fields: FieldError[] } | null>(null);

  // Collected afresh each time the screen opens: it describes the computer right now.
  const diagnostics = useQuery({
    queryKey: queryKeys.diagnostics,
    queryFn: collectDiagnostics,
    staleTime: Number.POSITIVE_INFINITY,
    gcTime: 0,
    refetchOnWindowFocus: false,
    retry: false,
  });

  // Keep the half-written form when switching screens; forget it once it is sent.
  const latest = useRef({ screenshot, sectionChoices, result });
  latest.current = { screenshot, sectionChoices, result };
  useEffect(
    () => () => {
      const { screenshot: kept, sectionChoices: sections, result: done } = latest.current;
      if (done) clearDraft();
      else saveDraft({ values: getValues(), screenshot: kept, sections });
    },
    [getValues],
  );

  const submit = useMutation({
    mutationFn: async (values: GetHelpValues) => {
      const included = diagnostics.data
        ? diagnostics.data.sections.filter((section) => isIncluded(section, sectionChoices)).map((section) => section.id)
        : [];
      const outcome = await submitTicket(toTicketDraft(values, included, screenshot?.id ?? null));
      if (outcome.delivery === "failed") {
        // The outcome carries no reason; the outbox entry does.
        const entry = (await outboxEntries().catch(() => [])).find((candidate) => candidate.id === outcome.outboxId);
        return { outcome, refusal: entry?.lastError ?? null };
      }
      return { outcome, refusal: null };
    },
    onMutate: () => setFormProblem(null),
    onSuccess: ({ outcome, refusal }, values) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.myTickets });
      void queryClient.invalidateQueries({ queryKey: queryKeys.outbox });
      void queryClient.invalidateQueries({ queryKey: queryKeys.appStatus });
      if (outcome.delivery === "sent" && outcome.ticket) {
        setResult({ kind: "sent", outcome, contactPreference: values.contactPreference });
      } else if (outcome.delivery === "waiting" || (outcome.delivery === "sent" && !outcome.ticket)) {
        setResult({ kind: "waiting" });
      } else {
        const unmatched = refusal
          ? routeFieldErrors(refusal.fields, FORM_FIELDS, (name, message) => setError(name, { message }))
          : [];
        setFormProblem({
          message: `The help desk didn't accept this ticket. ${refusal ? sentence(refusal.message) : ""} It is kept in My tickets, where you can discard it.`,
          fields: unmatched,
        });
      }
    },
    onError: (error) => {
      if (error instanceof IpcError && error.fields.length > 0) {
        const unmatched = routeFieldErrors(error.fields, FORM_FIELDS, (name, message) =>
          setError(name, { message }, { shouldFocus: true }),
        );
        if (unmatched.length > 0) setFormProblem({ message: "Some details need attention.", fields: unmatched });
        return;
      }
      setFormProblem({ message: errorMessage(error), fields: [] });
    },
  });

  const startOver = () => {
    clearDraft();
    reset(EMPTY_VALUES);
    setScreenshot(null);
    setSectionChoices({});
    setFormProblem(null);
    submit.reset();
    setResult(null);
  };

  if (result?.kind === "sent" && result.outcome.ticket) {
    const ticket = result.outcome.ticket;
    return (
      <div className={styles.page}>
        <SubmitConfirmation
          ticket={ticket}
          contactPreference={result.contactPreference}
          onOpen={() => navigation.openMyTicket(ticket.id)}
          onAnother={startOver}
        />
      </div>
    );
  }
  if (result?.kind === "waiting") {
    return (
      <div className={styles.page}>
        <SubmitWaiting onOpenList={() => navigation.go("my-tickets")} onAnother={startOver} />
      </div>
    );
  }

  const title = watch("title");
  const description = watch("description");
  const contactPreference = watch("contactPreference");
  const firstName = endUser?.displayName.split(/\s+/)[0];
  const onSubmit = handleSubmit((values) => submit.mutate(values));
  const submitOnCtrlEnter = (event: KeyboardEvent<HTMLFormElement>) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void onSubmit();
    }
  };

  return (
    <div className={styles.page}>
      <div className={styles.container}>
        <header className={styles.header}>
          <h1 className={styles.heading}>{firstName ? `Hi ${firstName}, what's wrong?` : "What's wrong?"}</h1>
          <p className={styles.lede}>Tell us in a few words. It takes about a minute, and we'll take it from there.</p>
        </header>

        <div className={styles.grid}>
          <form className={styles.form} onSubmit={onSubmit} onKeyDown={submitOnCtrlEnter} noValidate aria-label="Get help">
            {formProblem && (
              <Callout tone="danger" title="Not sent yet" role="alert">
                {formProblem.message}
                {formProblem.fields.length > 0 && (
                  <ul className={styles.errorList}>
                    {formProblem.fields.map((field) => (
                      <li key={`${field.field}:${field.message}`}>
                        {field.field}: {sentence(field.message)}
                      </li>
                    ))}
                  </ul>
                )}
              </Callout>
            )}

            <Controller
              control={control}
              name="category"
              render={({ field, fieldState }) => (
                <CategoryPicker value={field.value} onChange={field.onChange} error={fieldState.error?.message} />
              )}
            />

            <Field
              label="Title"
              error={formState.errors.title?.message}
              count={title.length > MAX_TITLE_CHARS * 0.8 ? { value: title.length, max: MAX_TITLE_CHARS } : undefined}
            >
              <Input
                inputSize="lg"
                placeholder="For example: The printer on floor 2 jams every page"
                autoComplete="off"
                {...register("title", {
                  validate: (value) => {
                    if (!value.trim()) return "Give your problem a short title.";
                    if (value.trim().length > MAX_TITLE_CHARS)
                      return `Keep the title to ${MAX_TITLE_CHARS} characters or fewer (it has ${value.trim().length}).`;
                    return true;
                  },
                })}
              />
            </Field>

            <Field
              label="Describe it"
              hint="What were you doing, what happened, and any error message you saw."
              error={formState.errors.description?.message}
              count={
                description.length > MAX_DESCRIPTION_CHARS * 0.8
                  ? { value: description.length, max: MAX_DESCRIPTION_CHARS }
                  : undefined
              }
            >
              <Textarea
                rows={5}
                {...register("description", {
                  maxLength: {
                    value: MAX_DESCRIPTION_CHARS,
                    message: `Keep the description to ${MAX_DESCRIPTION_CHARS.toLocaleString()} characters or fewer.`,
                  },
                })}
              />
            </Field>

            <Controller
              control={control}
              name="urgency"
              render={({ field }) => (
                <RadioCards
                  legend="How much does this stop you?"
                  options={URGENCY_OPTIONS}
                  value={field.value}
                  onChange={field.onChange}
                  name="urgency"
                />
              )}
            />

            <Controller
              control={control}
              name="impact"
              render={({ field }) => (
                <RadioCards
                  legend="Who else is affected?"
                  options={IMPACT_OPTIONS}
                  value={field.value}
                  onChange={field.onChange}
                  name="impact"
                />
              )}
            />

            <div className={styles.contactRow}>
              <Field label="How should we reach you?" error={formState.errors.contactPreference?.message}>
                <Select {...register("contactPreference")}>
                  {(Object.keys(CONTACT_LABEL) as ContactPreference[]).map((preference) => (
                    <option key={preference} value={preference}>
                      {CONTACT_LABEL[preference]}
                    </option>
                  ))}
                </Select>
              </Field>
              {contactPreference !== "app" && (
                <Field
                  label={contactPreference === "email" ? "Email address" : "Phone number"}
                  error={formState.errors.contactDetail?.message}
                >
                  <Input
                    type={contactPreference === "email" ? "email" : "tel"}
                    autoComplete={contactPreference === "email" ? "email" : "tel"}
                    {...register("contactDetail", { validate: validateContactDetail })}
                  />
                </Field>
              )}
            </div>

            <div className={styles.footer}>
              <ScreenshotAttachment screenshot={screenshot} onChange={setScreenshot} />
              <div className={styles.sendArea}>
                <span className={styles.sendHint} aria-hidden>
                  <Kbd>{isMac ? "⌘" : "Ctrl"}</Kbd> <Kbd>Enter</Kbd>
                </span>
                <Button type="submit" variant="primary" size="lg" icon={Send} loading={submit.isPending}>
                  Send
                </Button>
              </div>
            </div>
          </form>

          <aside className={styles.aside} aria-label="About this computer">
            <DiagnosticsPanel
              diagnostics={diagnostics}
              choices={sectionChoices}
              onChoice={(id, included) => setSectionChoices((choices) => ({ ...choices, [id]: included }))}
            />
          </aside>
        </div>
      </div>
    </div>
  );
}
