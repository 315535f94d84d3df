import { Dialog } from "../../components/Dialog";
import { Kbd } from "../../components/Kbd";
import { commandKeyLabel } from "../../lib/keyboard";
import styles from "./ShortcutsDialog.module.css";

export const SHORTCUTS: { keys: string[]; action: string }[] = [
  { keys: ["j"], action: "Next ticket in the queue" },
  { keys: ["k"], action: "Previous ticket in the queue" },
  { keys: ["Enter"], action: "Open the selected ticket" },
  { keys: ["r"], action: "Reply to the requester" },
  { keys: ["n"], action: "Add an internal note" },
  { keys: ["e"], action: "Escalate to the next tier" },
  { keys: ["a"], action: "Assign" },
  { keys: ["/"], action: "Search the queue" },
  { keys: [commandKeyLabel], action: "Command palette" },
  { keys: ["?"], action: "This list" },
  { keys: ["Esc"], action: "Leave a text field or close a dialog" },
];

export function ShortcutsDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="Keyboard shortcuts"
      description="Single keys work whenever you're not typing in a field."
    >
      <table className={styles.table}>
        <tbody>
          {SHORTCUTS.map((shortcut) => (
            <tr key={shortcut.action}>
              <td>{shortcut.action}</td>
              <td className={styles.keys}>
                {shortcut.keys.map((key) => (
                  <Kbd key={key}>{key}</Kbd>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
