import { CheckCircle2, CloudOff, Inbox, Plus } from "lucide-react";
import { useEffect, useRef } from "react";

import type { ContactPreference } from "../../bindings/ContactPreference";
import type { Ticket } from "../../bindings/Ticket";
import { Button } from "../../components/Button";
import { cx } from "../../components/cx";
import { ticketNumber } from "../../lib/format";
import styles from "./SubmitResult.module.css";

const REPLY_WHERE: Record<ContactPreference, string> = {
  app: "The help desk will reply here in the app, and you'll get a notification.",
  email: "The help desk will reply by email. You can also follow it in My tickets.",
  phone: "The help desk will call you. You can also follow it in My tickets.",
};

export function SubmitConfirmation({
  ticket,
  contactPreference,
  onOpen,
  onAnother,
}: {
  ticket: Ticket;
  contactPreference: ContactPreference;
  onOpen: () => void;
  onAnother: () => void;
}) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  return (
    <div className={cx(styles.panel, styles.sent)} data-testid="submit-confirmation">
      <div className={styles.badge}>
        <CheckCircle2 aria-hidden />
      </div>
      <h1 ref={heading} tabIndex={-1} className={styles.title}>
        Thanks — we've got it
      </h1>
      <div className={styles.number} aria-label={`Ticket number ${ticketNumber(ticket.number)}`}>
        {ticketNumber(ticket.number)}
      </div>
      <p className={styles.text}>
        Keep this number if you call the help desk. {REPLY_WHERE[contactPreference]}
      </p>
      <div className={styles.actions}>
        <Button variant="primary" icon={Inbox} onClick={onOpen}>
          Open in My tickets
        </Button>
        <Button icon={Plus} onClick={onAnother}>
          Report another problem
        </Button>
      </div>
    </div>
  );
}

export function SubmitWaiting({ onOpenList, onAnother }: { onOpenList: () => void; onAnother: () => void }) {
  const heading = useFocusOnMount<HTMLHeadingElement>();
  return (
    <div className={cx(styles.panel, styles.waiting)} data-testid="submit-waiting" role="status">
      <div className={styles.badge}>
        <CloudOff aria-hidden />
      </div>
      <h1 ref={heading} tabIndex={-1} className={styles.title}>
        Saved — waiting to send
      </h1>
      <p className={styles.text}>
        The help desk can't be reached right now. Your ticket is saved on this computer. It will be sent
        automatically when the help desk is reachable — you don't need to do anything.
      </p>
      <div className={styles.actions}>
        <Button variant="primary" icon={Inbox} onClick={onOpenList}>
          Go to My tickets
        </Button>
        <Button icon={Plus} onClick={onAnother}>
          Report another problem
        </Button>
      </div>
    </div>
  );
}

/** Moves focus to the new heading, so screen readers announce the outcome. */
function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}
