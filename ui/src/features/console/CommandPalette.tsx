import * as RadixDialog from "@radix-ui/react-dialog";
import { Search, type LucideIcon } from "lucide-react";
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";

import { Kbd } from "../../components/Kbd";
import styles from "./CommandPalette.module.css";

export interface PaletteCommand {
  id: string;
  label: string;
  group: string;
  icon: LucideIcon;
  /** Shortcut shown beside it, e.g. "r". */
  keys?: string;
  /** Extra words that should find it. */
  keywords?: string;
  run: () => void;
}

/** Every word typed must appear somewhere in the command's label, group or keywords. */
export function matchCommands(commands: PaletteCommand[], query: string): PaletteCommand[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return commands;
  return commands.filter((command) => {
    const haystack = `${command.label} ${command.group} ${command.keywords ?? ""}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

export function CommandPalette({
  open,
  onOpenChange,
  commands,
  dynamicCommands,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  commands: PaletteCommand[];
  /** Commands made from what was typed (e.g. "Search for …"). */
  dynamicCommands?: (query: string) => PaletteCommand[];
}) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const listId = useId();
  const listRef = useRef<HTMLUListElement>(null);

  useEffect(() => {
    if (open) {
      setQuery("");
      setActive(0);
    }
  }, [open]);

  const results = useMemo(
    // Named commands first; "search for …" is the fallback at the end.
    () => [...matchCommands(commands, query), ...(dynamicCommands?.(query.trim()) ?? [])],
    [commands, dynamicCommands, query],
  );
  const current = results[Math.min(active, results.length - 1)];

  useEffect(() => {
    listRef.current?.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest" });
  }, [active, query]);

  const run = (command: PaletteCommand | undefined) => {
    if (!command) return;
    onOpenChange(false);
    // After the dialog has closed and returned focus, so the command can move it.
    window.setTimeout(command.run, 0);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setActive((index) => (results.length ? (index + 1) % results.length : 0));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((index) => (results.length ? (index - 1 + results.length) % results.length : 0));
    } else if (event.key === "Enter") {
      event.preventDefault();
      run(current);
    }
  };

  let lastGroup = "";
  return (
    <RadixDialog.Root open={open} onOpenChange={onOpenChange}>
      <RadixDialog.Portal>
        <RadixDialog.Overlay className={styles.overlay} />
        <RadixDialog.Content className={styles.content} aria-describedby={undefined}>
          <RadixDialog.Title className="visually-hidden">Command palette</RadixDialog.Title>
          <div className={styles.searchRow}>
            <Search className={styles.searchIcon} aria-hidden />
            <input
              className={styles.input}
              role="combobox"
              aria-label="Search commands"
              aria-expanded="true"
              aria-controls={listId}
              aria-activedescendant={current ? `${listId}-${current.id}` : undefined}
              placeholder="Type a command, a view, or a ticket number…"
              value={query}
              autoFocus
              onChange={(event) => {
                setQuery(event.target.value);
                setActive(0);
              }}
              onKeyDown={onKeyDown}
            />
          </div>
          <ul id={listId} ref={listRef} className={styles.list} role="listbox" aria-label="Commands">
            {results.length === 0 && (
              <li className={styles.empty} role="presentation">
                Nothing matches “{query}”. Try a view name like “L2” or a command like “escalate”.
              </li>
            )}
            {results.map((command, index) => {
              const header = command.group !== lastGroup ? command.group : null;
              lastGroup = command.group;
              const Icon = command.icon;
              return (
                <li key={command.id} role="presentation">
                  {header && (
                    <div className={styles.group} aria-hidden>
                      {header}
                    </div>
                  )}
                  <div
                    id={`${listId}-${command.id}`}
                    role="option"
                    aria-selected={command === current}
                    className={styles.option}
                    onMouseMove={() => setActive(index)}
                    onClick={() => run(command)}
                  >
                    <Icon aria-hidden />
                    <span>{command.label}</span>
                    {command.keys && (
                      <span className={styles.keys} aria-hidden>
                        <Kbd>{command.keys}</Kbd>
                      </span>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
          <div className={styles.footer} aria-hidden>
            <span>
              <Kbd>↑</Kbd>
              <Kbd>↓</Kbd> move
            </span>
            <span>
              <Kbd>Enter</Kbd> run
            </span>
            <span>
              <Kbd>Esc</Kbd> close
            </span>
          </div>
        </RadixDialog.Content>
      </RadixDialog.Portal>
    </RadixDialog.Root>
  );
}
