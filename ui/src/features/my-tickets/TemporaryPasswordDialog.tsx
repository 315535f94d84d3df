import { Copy, Eye, EyeOff, KeyRound } from "lucide-react";
import { useEffect, useState } from "react";

import { Button } from "../../components/Button";
import { Callout } from "../../components/Callout";
import { Dialog } from "../../components/Dialog";
import styles from "./TemporaryPasswordDialog.module.css";
import { dismissTemporaryPassword, usePendingTemporaryPasswords } from "./temporaryPasswords";

/**
 * Shows a temporary password once. It cannot be closed by accident (no Escape, no click
 * outside): the only way out is confirming it has been noted, after which it is gone.
 */
export function TemporaryPasswordDialog() {
  const pending = usePendingTemporaryPasswords();
  const current = pending[0];
  const [revealed, setRevealed] = useState(false);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    setRevealed(false);
    setCopied(false);
  }, [current?.orderId]);

  if (!current) return null;

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(current.password);
      setCopied(true);
    } catch {
      // Clipboard blocked: showing it is the fallback.
      setRevealed(true);
    }
  };

  return (
    <Dialog
      open
      onOpenChange={() => undefined}
      modalLocked
      title={
        <>
          Your temporary password for <span className={styles.account}>{current.account}</span>
        </>
      }
      description="The help desk reset your password. Use this one to sign in."
      footer={
        <Button variant="primary" onClick={() => dismissTemporaryPassword(current.orderId)}>
          I've noted it
        </Button>
      }
    >
      <div className={styles.passwordBox}>
        <span className={styles.password} aria-label={revealed ? "Temporary password" : "Temporary password, hidden"}>
          {revealed ? current.password : "•".repeat(Math.max(8, current.password.length))}
        </span>
        <Button size="sm" variant="ghost" icon={revealed ? EyeOff : Eye} onClick={() => setRevealed((shown) => !shown)}>
          {revealed ? "Hide" : "Show"}
        </Button>
        <Button size="sm" icon={Copy} onClick={() => void copy()}>
          Copy
        </Button>
      </div>
      <div className={styles.copied} role="status">
        {copied ? "Copied. Paste it when you sign in." : ""}
      </div>
      <Callout tone="warning" icon={KeyRound} title="Shown only once">
        This password won't be shown again, and the help desk can't see it. You'll be asked to choose a new
        password the next time you sign in.
      </Callout>
    </Dialog>
  );
}
