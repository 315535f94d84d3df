// Single-key shortcuts must never fire while someone is typing.

export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") {
    const type = (target as HTMLInputElement).type;
    return !["checkbox", "radio", "button", "submit", "reset", "range", "color"].includes(type);
  }
  return target.getAttribute("role") === "textbox";
}

/** Whether a modal (dialog, menu) owns the keyboard right now. */
export function isModalOpen(): boolean {
  return (
    document.querySelector('[role="dialog"][data-state="open"], [role="alertdialog"][data-state="open"], [role="menu"]') !==
    null
  );
}

export const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

/** "⌘K" on macOS, "Ctrl+K" elsewhere. */
export const commandKeyLabel = isMac ? "⌘K" : "Ctrl+K";
