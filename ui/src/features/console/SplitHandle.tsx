import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";

import styles from "./ConsoleScreen.module.css";

const STORAGE_KEY = "deskside.console.queueShare";
const MIN = 20;
const MAX = 80;
const DEFAULT = 38;

function readShare(): number {
  try {
    const saved = Number(localStorage.getItem(STORAGE_KEY));
    return saved >= MIN && saved <= MAX ? saved : DEFAULT;
  } catch {
    return DEFAULT;
  }
}

/** How much of the height the queue gets (percent), remembered on this computer. */
export function useQueueShare() {
  const [share, setShare] = useState(readShare);
  useEffect(() => {
    try {
      localStorage.setItem(STORAGE_KEY, String(share));
    } catch {
      // Not remembered; still works for this session.
    }
  }, [share]);
  const set = useCallback((next: number) => setShare(Math.round(Math.min(MAX, Math.max(MIN, next)))), []);
  return [share, set] as const;
}

/** The bar between the queue and the ticket: drag it, or focus it and use the arrow keys. */
export function SplitHandle({ share, onChange }: { share: number; onChange: (share: number) => void }) {
  const dragging = useRef<{ top: number; height: number } | null>(null);

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    const container = event.currentTarget.parentElement;
    if (!container) return;
    const rect = container.getBoundingClientRect();
    dragging.current = { top: rect.top, height: rect.height };
    event.currentTarget.setPointerCapture(event.pointerId);
  };
  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    const box = dragging.current;
    if (box && box.height > 0) onChange(((event.clientY - box.top) / box.height) * 100);
  };
  const onPointerUp = (event: PointerEvent<HTMLDivElement>) => {
    dragging.current = null;
    event.currentTarget.releasePointerCapture(event.pointerId);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const step = event.shiftKey ? 10 : 5;
    if (event.key === "ArrowUp") onChange(share - step);
    else if (event.key === "ArrowDown") onChange(share + step);
    else if (event.key === "Home") onChange(MIN);
    else if (event.key === "End") onChange(MAX);
    else return;
    event.preventDefault();
  };

  return (
    <div
      className={styles.handle}
      role="separator"
      aria-orientation="horizontal"
      aria-label="Resize the queue"
      aria-valuemin={MIN}
      aria-valuemax={MAX}
      aria-valuenow={share}
      tabIndex={0}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onDoubleClick={() => onChange(DEFAULT)}
      onKeyDown={onKeyDown}
    />
  );
}
