// Formatting helpers shared by every screen. Dates arrive as ISO strings from Rust
// (chrono `DateTime<Utc>`); everything is shown in the user's locale and time zone.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The ticket number people say out loud and search for. */
export function ticketNumber(number: number): string {
  return `HD-${number}`;
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/**
 * A duration in compact words: "45 s", "12 min", "1 h 20 min", "3 h", "2 days".
 * Compact on purpose: it sits inside badges and table cells.
 */
export function durationInWords(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < MINUTE) return `${integer.format(Math.max(1, Math.round(abs / 1000)))} s`;
  if (abs < HOUR) return `${integer.format(Math.floor(abs / MINUTE))} min`;
  if (abs < DAY) {
    const hours = Math.floor(abs / HOUR);
    const minutes = Math.floor((abs % HOUR) / MINUTE);
    // Minutes matter for the first few hours of a countdown, not after.
    return hours < 10 && minutes > 0
      ? `${integer.format(hours)} h ${integer.format(minutes)} min`
      : `${integer.format(hours)} h`;
  }
  const days = Math.floor(abs / DAY);
  return days === 1 ? "1 day" : `${integer.format(days)} days`;
}

/** "just now", "2 min ago", "3 h ago", "4 days ago": for timestamps in the past. */
export function timeAgo(iso: string | Date, now: Date = new Date()): string {
  const at = typeof iso === "string" ? new Date(iso) : iso;
  const ms = now.getTime() - at.getTime();
  if (Number.isNaN(ms)) return "";
  if (ms < 45_000) return "just now";
  if (ms >= 7 * DAY) return formatDate(at);
  return `${durationInWords(ms)} ago`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** A past or future instant in words relative to now ("in 3 hours", "yesterday"). */
export function relativeTime(iso: string | Date, now: Date = new Date()): string {
  const at = typeof iso === "string" ? new Date(iso) : iso;
  const ms = at.getTime() - now.getTime();
  const abs = Math.abs(ms);
  if (abs < MINUTE) return relative.format(Math.round(ms / 1000), "second");
  if (abs < HOUR) return relative.format(Math.round(ms / MINUTE), "minute");
  if (abs < DAY) return relative.format(Math.round(ms / HOUR), "hour");
  return relative.format(Math.round(ms / DAY), "day");
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: "medium",
  timeStyle: "short",
});

export function formatDate(iso: string | Date): string {
  return dateFormat.format(typeof iso === "string" ? new Date(iso) : iso);
}

export function formatDateTime(iso: string | Date): string {
  return dateTimeFormat.format(typeof iso === "string" ? new Date(iso) : iso);
}

const oneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** "812 B", "4.2 KB", "1.3 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${integer.format(bytes)} B`;
  if (bytes < 1024 * 1024) return `${oneDecimal.format(bytes / 1024)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${oneDecimal.format(bytes / 1024 / 1024)} MB`;
  return `${oneDecimal.format(bytes / 1024 / 1024 / 1024)} GB`;
}

/** "1 ticket", "3 tickets". English only for now; kept in one place for later i18n. */
export function plural(count: number, one: string, many: string): string {
  return `${integer.format(count)} ${count === 1 ? one : many}`;
}

/** Turns a snake_case or camelCase key into words: "last_boot_time" → "Last boot time". */
export function humanizeKey(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_.-]+/g, " ")
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .map((word) => (ACRONYMS.has(word) ? word.toUpperCase() : word))
    .join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const ACRONYMS = new Set(["id", "pid", "cpu", "os", "ip", "dns", "url", "uid", "gid", "mac", "ssd", "usb", "vpn"]);

/** "Ada Lovelace" → "AL", "root" → "RO": for avatars. */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const first = parts[0] ?? "";
  const last = parts[parts.length - 1] ?? "";
  const letters = parts.length > 1 ? `${first.charAt(0)}${last.charAt(0)}` : first.slice(0, 2);
  return letters.toUpperCase() || "?";
}
