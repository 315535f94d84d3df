import { useEffect, useRef } from "react";

import { isModalOpen, isTypingTarget } from "../../lib/keyboard";

export interface ConsoleShortcutHandlers {
  next: () => void;
  previous: () => void;
  open: () => void;
  reply: () => void;
  note: () => void;
  escalate: () => void;
  assign: () => void;
  search: () => void;
  palette: () => void;
  help: () => void;
}

const INTERACTIVE = "button, a[href], input, textarea, select, [role='menuitem'], [role='tab'], [role='option'], [role='switch']";

/**
 * The console's single-key shortcuts. They never fire while typing or while a dialog or
 * menu owns the keyboard; Ctrl+K / ⌘K works everywhere.
 */
export function useConsoleShortcuts(handlers: ConsoleShortcutHandlers) {
  const latest = useRef(handlers);
  latest.current = handlers;

  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      const run = latest.current;
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
        event.preventDefault();
        run.palette();
        return;
      }
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (isTypingTarget(event.target) || isModalOpen()) return;
      const target = event.target instanceof HTMLElement ? event.target : null;
      const action: Record<string, (() => void) | undefined> = {
        j: run.next,
        k: run.previous,
        r: run.reply,
        n: run.note,
        e: run.escalate,
        a: run.assign,
        "/": run.search,
        "?": run.help,
      };
      if (event.key === "Enter") {
        // Enter on a focused button or link must keep doing what that control does.
        if (target?.closest(INTERACTIVE)) return;
        event.preventDefault();
        run.open();
        return;
      }
      const handler = action[event.key];
      if (handler) {
        event.preventDefault();
        handler();
      }
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, []);
}
