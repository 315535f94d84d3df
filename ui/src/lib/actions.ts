// Words for remediation actions outside the console (where the full catalog is loaded):
// the requester's consent card and the timelines only carry the action id.

/** The catalog's own titles (deskside-remediation), as agents know them. */
const AGENT_TITLE: Record<string, string> = {
  "service.restart": "Restart a service",
  "account.reset_password": "Reset a local account's password",
  "print.clear_queue": "Clear a print queue",
  "print.restart_spooler": "Restart the print spooler",
  "network.flush_dns": "Flush the DNS cache",
  "disk.clean_temp": "Clean temporary files",
  "process.kill": "End a process",
  "diagnostics.collect": "Collect diagnostics",
  "system.reboot": "Restart the computer",
  "software.update": "Update software",
};

/** The same actions as the person at the computer reads them. */
const REQUESTER_TITLE: Record<string, string> = {
  "service.restart": "Restart a service",
  // Which account is not in a timeline event: the consent card names it (consentTitle).
  "account.reset_password": "Reset an account's password",
  "print.clear_queue": "Clear a print queue",
  "print.restart_spooler": "Restart the print spooler",
  "network.flush_dns": "Flush the DNS cache",
  "disk.clean_temp": "Clean temporary files",
  "process.kill": "End a program",
  "diagnostics.collect": "Collect diagnostics",
  "system.reboot": "Restart the computer",
  "software.update": "Update software",
};

/** What the action does, for the person asked to allow it. */
const ACTION_EXPLANATION: Record<string, string> = {
  "service.restart": "A background service is stopped and started again. It takes a few seconds.",
  "account.reset_password":
    "Your password is replaced with a temporary one, shown only to you in this window. You'll choose a new one the next time you sign in.",
  "print.clear_queue": "Documents waiting to print on this printer are cancelled, and the printer is switched back on.",
  "print.restart_spooler": "The printing service is restarted. Documents already printing may need to be sent again.",
  "network.flush_dns": "The computer forgets remembered web addresses and looks them up again.",
  "disk.clean_temp": "Temporary files older than a week are deleted to free space.",
  "process.kill": "A program is closed. Unsaved work in it may be lost.",
  "diagnostics.collect": "A fresh check of this computer is sent to the help desk.",
  "system.reboot": "The computer restarts. Save your work first.",
  "software.update": "A program is updated to its latest version.",
};

/**
 * What the person at the computer is asked to allow. An action on a local account names
 * it: the account may be theirs or someone else's on the same computer.
 */
export function consentTitle(actionId: string, account: string | null, mine: boolean): string {
  if (actionId === "account.reset_password" && account) {
    return mine ? `Reset the password of your account ${account}` : `Reset the password of account ${account}`;
  }
  return actionTitle(actionId);
}

export function actionTitle(actionId: string, audience: "agent" | "requester" = "requester"): string {
  return (audience === "agent" ? AGENT_TITLE : REQUESTER_TITLE)[actionId] ?? actionId;
}

export function actionExplanation(actionId: string): string | null {
  return ACTION_EXPLANATION[actionId] ?? null;
}

/** Parameters as "name: value" pairs for display. */
export function paramEntries(params: Record<string, unknown> | null | undefined): [string, string][] {
  if (!params || typeof params !== "object") return [];
  return Object.entries(params).map(([key, value]) => [
    key,
    typeof value === "string" ? value : JSON.stringify(value),
  ]);
}
