// The server's `SnapshotDiff` (deskside-diagnostics diff.rs) as a readable change list.
// Typed loosely on purpose: the diff is JSON from a crate the UI has no bindings for.
import { CheckCircle2 } from "lucide-react";
import type { ReactNode } from "react";

import { EmptyState } from "../../../components/EmptyState";
import { humanizeKey } from "../../../lib/format";
import styles from "./SnapshotDiffView.module.css";

type Loose = Record<string, unknown>;

const asList = (value: unknown): Loose[] => (Array.isArray(value) ? value.filter((item) => typeof item === "object" && item !== null) as Loose[] : []);
const asStrings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const asObject = (value: unknown): Loose => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Loose) : {});
const text = (value: unknown): string => {
  if (value === null || value === undefined) return "none";
  if (Array.isArray(value)) return value.length ? value.join(", ") : "none";
  if (typeof value === "number") return `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })}`;
  return String(value);
};

interface Line {
  kind: "added" | "removed" | "changed";
  name: string;
  from?: string;
  to?: string;
}

function Change({ line }: { line: Line }) {
  const sign = line.kind === "added" ? "+" : line.kind === "removed" ? "−" : "~";
  return (
    <li>
      <span className={`${styles.sign} ${styles[line.kind]}`} aria-label={line.kind}>
        {sign}
      </span>
      <span className={styles.name}>{line.name}</span>
      {line.kind === "changed" && (
        <span>
          <span className={styles.from}>{line.from}</span> <span className={styles.arrow}>→</span> {line.to}
        </span>
      )}
      {line.kind !== "changed" && line.to && <span>{line.to}</span>}
    </li>
  );
}

function Group({ title, lines }: { title: string; lines: Line[] }): ReactNode {
  if (lines.length === 0) return null;
  return (
    <section className={styles.group}>
      <h4>{title}</h4>
      <ul>
        {lines.map((line, index) => (
          <Change key={`${line.name}-${index}`} line={line} />
        ))}
      </ul>
    </section>
  );
}

/** One from/to pair: appeared (no from), disappeared (no to) or changed. */
function fromTo(name: string, from: unknown, to: unknown, unit = ""): Line {
  if (from === null || from === undefined) return { kind: "added", name, to: `${text(to)}${unit}` };
  if (to === null || to === undefined) return { kind: "removed", name };
  return { kind: "changed", name, from: `${text(from)}${unit}`, to: `${text(to)}${unit}` };
}

export function diffLines(diff: unknown) {
  const root = asObject(diff);
  const software = asObject(root.software);
  const network = asObject(root.network);
  const dns = asObject(network.dnsServers);
  const gateway = asObject(network.defaultGateway);
  return {
    system: asList(root.system).map((change) => fromTo(humanizeKey(String(change.field)), change.from, change.to)),
    software: [
      ...asList(software.installed).map((pkg): Line => ({ kind: "added", name: String(pkg.name), to: text(pkg.version) })),
      ...asList(software.removed).map((pkg): Line => ({ kind: "removed", name: String(pkg.name) })),
      ...asList(software.upgraded).map((pkg) => fromTo(String(pkg.name), pkg.from, pkg.to)),
    ],
    disks: asList(root.disks).map((disk) =>
      fromTo(`Disk ${String(disk.mountPoint)}`, disk.fromPercent, disk.toPercent, " % used"),
    ),
    services: asList(root.services).map((service) => fromTo(String(service.name), service.from, service.to)),
    printers: asList(root.printers).map((printer) => fromTo(String(printer.name), printer.from, printer.to)),
    network: [
      ...asStrings(network.interfacesAdded).map((name): Line => ({ kind: "added", name: `Interface ${name}` })),
      ...asStrings(network.interfacesRemoved).map((name): Line => ({ kind: "removed", name: `Interface ${name}` })),
      ...asList(network.addressesChanged).map((change) =>
        fromTo(`Addresses on ${String(change.interface)}`, change.from, change.to),
      ),
      ...("from" in dns ? [fromTo("DNS servers", dns.from, dns.to)] : []),
      ...("from" in gateway ? [fromTo("Default gateway", gateway.from, gateway.to)] : []),
    ],
    notCompared: asStrings(root.notCompared),
  };
}

export function SnapshotDiffView({ diff }: { diff: unknown }) {
  const lines = diffLines(diff);
  const total =
    lines.system.length +
    lines.software.length +
    lines.disks.length +
    lines.services.length +
    lines.printers.length +
    lines.network.length;
  return (
    <div className={styles.diff}>
      {total === 0 ? (
        <EmptyState compact icon={CheckCircle2} title="Nothing changed">
          These two snapshots match in everything that can be compared.
        </EmptyState>
      ) : (
        <>
          <Group title="System" lines={lines.system} />
          <Group title="Disks" lines={lines.disks} />
          <Group title="Services" lines={lines.services} />
          <Group title="Network" lines={lines.network} />
          <Group title="Printers" lines={lines.printers} />
          <Group title="Software" lines={lines.software} />
        </>
      )}
      {lines.notCompared.length > 0 && (
        <p className={styles.note}>
          Not compared (missing from one of the snapshots): {lines.notCompared.map(humanizeKey).join(", ")}.
        </p>
      )}
    </div>
  );
}
