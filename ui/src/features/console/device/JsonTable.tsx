// Renders snapshot JSON (open-ended, versioned by the agent) as readable tables: objects as
// key/value rows, arrays of objects as small grids, arrays of scalars as chips. Nothing
// here knows the snapshot schema, so a newer agent's fields still show up.
import { useState } from "react";

import { Button } from "../../../components/Button";
import { formatBytes, formatDateTime, humanizeKey } from "../../../lib/format";
import styles from "./JsonTable.module.css";

const ROW_LIMIT = 50;
const UNIT_SUFFIX = /(?:_|(?<=[a-z]))(?:bytes|Bytes|secs|Secs|seconds|Seconds|percent|Percent|pct|Pct)$/;

/** "totalBytes" → "Total", "uptime_secs" → "Uptime": the unit shows in the value. */
export function labelFor(key: string): string {
  const stripped = key.replace(UNIT_SUFFIX, "");
  return humanizeKey(stripped || key);
}
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A scalar in words; byte counts and percentages are recognised by their key. */
export function formatScalar(value: Json | undefined, key = ""): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") {
    const lower = key.toLowerCase();
    if (lower.endsWith("bytes")) return formatBytes(value);
    if (lower.endsWith("percent") || lower.endsWith("pct")) return `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })} %`;
    if (lower.endsWith("secs") || lower.endsWith("seconds")) return secondsInWords(value);
    return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
  }
  if (typeof value === "string") return ISO_DATE.test(value) ? formatDateTime(value) : value;
  return JSON.stringify(value);
}

function secondsInWords(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  return `${minutes} min`;
}

function Scalar({ value, name }: { value: Json; name: string }) {
  if (typeof value === "boolean") return <span className={value ? styles.yes : styles.no}>{value ? "Yes" : "No"}</span>;
  if (value === null) return <span className={styles.muted}>—</span>;
  return <>{formatScalar(value, name)}</>;
}

function Grid({ rows, name }: { rows: Record<string, Json>[]; name: string }) {
  const [expanded, setExpanded] = useState(false);
  const columns = [...new Set(rows.slice(0, 200).flatMap((row) => Object.keys(row)))];
  const shown = expanded ? rows : rows.slice(0, ROW_LIMIT);
  return (
    <div className={styles.gridWrap}>
      <table className={styles.grid} aria-label={humanizeKey(name)}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {labelFor(column)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.map((row, index) => (
            <tr key={index}>
              {columns.map((column) => {
                const cell = row[column];
                const text =
                  cell !== undefined && (isObject(cell) || Array.isArray(cell))
                    ? Array.isArray(cell) && cell.every((item) => !isObject(item))
                      ? cell.join(", ")
                      : JSON.stringify(cell)
                    : formatScalar(cell, column);
                return (
                  <td key={column} title={text}>
                    {text}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > ROW_LIMIT && (
        <div className={styles.more}>
          <Button size="sm" variant="ghost" onClick={() => setExpanded((open) => !open)}>
            {expanded ? "Show fewer" : `Show all ${rows.length.toLocaleString()} rows`}
          </Button>
        </div>
      )}
    </div>
  );
}

export function JsonValue({ value, name = "" }: { value: Json; name?: string }) {
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className={styles.muted}>None</span>;
    if (value.every(isObject)) return <Grid rows={value} name={name} />;
    return (
      <ul className={styles.list}>
        {value.map((item, index) => (
          <li key={index} className={styles.chip}>
            {formatScalar(item, name)}
          </li>
        ))}
      </ul>
    );
  }
  if (isObject(value)) {
    const unavailable = value.unavailable;
    if (isObject(unavailable) && Object.keys(value).length === 1) {
      return <span className={styles.unavailable}>Not available: {formatScalar(unavailable.reason ?? null)}</span>;
    }
    const entries = Object.entries(value);
    if (entries.length === 0) return <span className={styles.muted}>Nothing</span>;
    return (
      <table className={styles.kv}>
        <tbody>
          {entries.map(([key, item]) => (
            <tr key={key}>
              <th scope="row">{labelFor(key)}</th>
              <td>
                <JsonValue value={item} name={key} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return <Scalar value={value} name={name} />;
}

export type { Json };
