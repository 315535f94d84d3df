import { Globe, Lock, MessageSquareReply, NotebookPen } from "lucide-react";
import { useState, type KeyboardEvent, type Ref } from "react";

import type { TicketChange } from "../../../bindings/TicketChange";
import { Button } from "../../../components/Button";
import { cx } from "../../../components/cx";
import { Kbd } from "../../../components/Kbd";
import { isMac } from "../../../lib/keyboard";
import styles from "./Composer.module.css";

export type ComposerMode = "reply" | "note";

/** Reply to the requester or leave a note for agents; the mode is always visible. */
export function Composer({
  mode,
  onModeChange,
  onSend,
  sending,
  error,
  disabledReason,
  textareaRef,
}: {
  mode: ComposerMode;
  onModeChange: (mode: ComposerMode) => void;
  /** Resolves true when the change was accepted (the text is then cleared). */
  onSend: (change: TicketChange) => Promise<boolean>;
  sending: boolean;
  error?: string | undefined;
  disabledReason?: string | null;
  textareaRef?: Ref<HTMLTextAreaElement>;
}) {
  // One draft per mode: switching to a note doesn't lose a half-written reply.
  const [drafts, setDrafts] = useState<Record<ComposerMode, string>>({ reply: "", note: "" });
  const text = drafts[mode];
  const note = mode === "note";

  const send = async () => {
    const body = text.trim();
    if (!body || sending) return;
    const accepted = await onSend(note ? { kind: "note", body } : { kind: "reply", body });
    if (accepted) setDrafts((current) => ({ ...current, [mode]: "" }));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void send();
    }
    if (event.key === "Escape") event.currentTarget.blur();
  };

  return (
    <div className={cx(styles.composer, note && styles.noteMode)}>
      <div className={styles.toolbar} role="group" aria-label="Message type">
        <button type="button" className={styles.mode} aria-pressed={!note} onClick={() => onModeChange("reply")}>
          <MessageSquareReply aria-hidden />
          Reply
        </button>
        <button type="button" className={styles.mode} aria-pressed={note} onClick={() => onModeChange("note")}>
          <NotebookPen aria-hidden />
          Internal note
        </button>
        <span className={styles.audience}>
          {note ? <Lock aria-hidden /> : <Globe aria-hidden />}
          {note ? "Only agents see internal notes" : "The requester sees this reply"}
        </span>
      </div>
      <label htmlFor="ticket-composer" className="visually-hidden">
        Message
      </label>
      <textarea
        id="ticket-composer"
        ref={textareaRef}
        className={styles.textarea}
        placeholder={
          disabledReason ?? (note ? "Write a note for other agents…" : "Write a reply to the requester…")
        }
        value={text}
        disabled={Boolean(disabledReason)}
        onChange={(event) => setDrafts((current) => ({ ...current, [mode]: event.target.value }))}
        onKeyDown={onKeyDown}
        aria-invalid={error ? true : undefined}
      />
      <div className={styles.footer}>
        {error ? (
          <span className={styles.error} role="alert">
            {error}
          </span>
        ) : (
          <span className={styles.hint}>
            <Kbd>{isMac ? "⌘" : "Ctrl"}</Kbd>
            <Kbd>Enter</Kbd> to send
          </span>
        )}
        <Button
          size="sm"
          variant="primary"
          className={cx(note && styles.noteButton)}
          icon={note ? Lock : undefined}
          loading={sending}
          disabled={!text.trim() || Boolean(disabledReason)}
          onClick={() => void send()}
        >
          {note ? "Add note" : "Send reply"}
        </Button>
      </div>
    </div>
  );
}
