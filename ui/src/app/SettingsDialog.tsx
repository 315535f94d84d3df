import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Lock, Monitor, Moon, Sun } from "lucide-react";
import { useEffect, useState, type FormEvent } from "react";

import { Button } from "../components/Button";
import { Callout } from "../components/Callout";
import { Dialog } from "../components/Dialog";
import { Field } from "../components/Field";
import { Input } from "../components/Input";
import { errorMessage } from "../lib/errors";
import { IpcError, setServerUrl } from "../ipc";
import { queryKeys } from "./queryClient";
import styles from "./SettingsDialog.module.css";
import type { ThemePreference, useTheme } from "./theme";
import { useAppStatus } from "./useAppStatus";

export function SettingsDialog({
  open,
  onOpenChange,
  theme,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  theme: ReturnType<typeof useTheme>;
}) {
  const status = useAppStatus().data;
  const queryClient = useQueryClient();
  const [url, setUrl] = useState(status?.serverUrl ?? "");
  useEffect(() => {
    if (open) setUrl(status?.serverUrl ?? "");
    // Only when the dialog opens: typing must not be overwritten by a status poll.
  }, [open]);

  const save = useMutation({
    mutationFn: (next: string) => setServerUrl(next.trim()),
    onSuccess: (next) => {
      queryClient.setQueryData(queryKeys.appStatus, next);
      void queryClient.invalidateQueries();
    },
  });

  const locked = status?.serverUrlLocked ?? false;
  const fieldError =
    save.error instanceof IpcError
      ? (save.error.fields.find((field) => field.field === "url")?.message ?? errorMessage(save.error))
      : save.error
        ? errorMessage(save.error)
        : undefined;

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(url);
  };

  const themeChoice = (value: ThemePreference, label: string, icon: typeof Sun) => (
    <Button
      size="sm"
      variant={theme.preference === value ? "primary" : "secondary"}
      aria-pressed={theme.preference === value}
      icon={icon}
      onClick={() => theme.setPreference(value)}
    >
      {label}
    </Button>
  );

  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="Settings"
      description="How this app reaches your help desk, and how it looks."
      wide
      footer={<Button onClick={() => onOpenChange(false)}>Done</Button>}
    >
      <form className={styles.section} onSubmit={onSubmit}>
        <h3 className={styles.sectionTitle}>Help desk server</h3>
        {locked && (
          <Callout tone="neutral" icon={Lock} title="Set by your IT department">
            This computer's <code>DESKSIDE_SERVER_URL</code> setting decides the server address, so it can't be
            changed here. Ask IT if it looks wrong.
          </Callout>
        )}
        <div className={styles.row}>
          <Field label="Server address" error={fieldError} hint="For example https://helpdesk.example.com">
            <Input
              value={url}
              onChange={(event) => setUrl(event.target.value)}
              disabled={locked}
              placeholder="https://helpdesk.example.com"
              spellCheck={false}
              autoComplete="off"
            />
          </Field>
        </div>
        {!locked && (
          <div className={styles.row}>
            <Button
              type="submit"
              variant="primary"
              loading={save.isPending}
              disabled={url.trim() === "" || url.trim() === status?.serverUrl}
            >
              Save address
            </Button>
            {save.isSuccess && <span className={styles.saved}>Saved. Reconnecting…</span>}
          </div>
        )}
      </form>

      <section className={styles.section}>
        <h3 className={styles.sectionTitle}>Appearance</h3>
        <div className={styles.themeChoices} role="group" aria-label="Theme">
          {themeChoice("system", "Match system", Monitor)}
          {themeChoice("light", "Light", Sun)}
          {themeChoice("dark", "Dark", Moon)}
        </div>
      </section>

      {status && (
        <section className={styles.section}>
          <h3 className={styles.sectionTitle}>This computer</h3>
          <dl className={styles.facts}>
            <dt>Your account here</dt>
            <dd>
              {status.endUser.displayName} ({status.endUser.localUser})
            </dd>
            <dt>Linked to the help desk</dt>
            <dd>{status.endUser.deviceLinked ? "Yes — diagnostics can be attached" : "No — the help desk agent isn't running"}</dd>
          </dl>
        </section>
      )}
    </Dialog>
  );
}
