import { describe, expect, it } from "vitest";

import { makeTicket } from "../../test/fixtures";
import { toParams, validateParam } from "./actions/ActionForm";
import { matchCommands, type PaletteCommand } from "./CommandPalette";
import { diffLines } from "./device/SnapshotDiffView";
import { formatScalar, labelFor } from "./device/JsonTable";
import { replaceTicketInPages } from "./queue/useQueue";
import { applyToTicket, nextTier } from "./ticket/optimistic";
import { EMPTY_FILTERS, sameFilters } from "./views";

const param = (overrides: object) => ({
  name: "name",
  type: "string",
  description: "",
  pattern: null,
  maxLength: null,
  minimum: null,
  maximum: null,
  ...overrides,
});

describe("action parameters", () => {
  it("apply the catalog's limits", () => {
    const pid = param({ name: "pid", type: "integer", minimum: 2, maximum: 100 });
    expect(validateParam(pid, "")).toBe("Enter the PID.");
    expect(validateParam(pid, "1")).toBe("Must be at least 2.");
    expect(validateParam(pid, "abc")).toBe("Enter a whole number.");
    expect(validateParam(pid, "42")).toBe(true);
    const service = param({ pattern: "[a-z.-]+", maxLength: 8 });
    expect(validateParam(service, "cups")).toBe(true);
    expect(validateParam(service, "cups;rm")).toMatch(/isn't allowed/);
    expect(validateParam(service, "abcdefghi")).toBe("At most 8 characters.");
    // A pattern the browser can't compile is left to the server.
    expect(validateParam(param({ pattern: "(?P<x>a)" }), "a")).toBe(true);
  });

  it("are sent with their JSON types", () => {
    const action = { params: [param({ name: "pid", type: "integer" }), param({ name: "name" })] } as never;
    expect(toParams(action, { pid: " 42 ", name: " cups " })).toEqual({ pid: 42, name: "cups" });
  });
});

describe("command palette", () => {
  const command = (label: string, group = "Views", keywords?: string): PaletteCommand => ({
    id: label,
    label,
    group,
    keywords,
    icon: (() => null) as never,
    run: () => undefined,
  });
  it("matches every typed word anywhere in label, group or keywords", () => {
    const commands = [command("Go to L2 queue"), command("Escalate to next tier", "Ticket"), command("Sign out", "General", "log out")];
    expect(matchCommands(commands, "l2").map((c) => c.label)).toEqual(["Go to L2 queue"]);
    expect(matchCommands(commands, "ticket esc").map((c) => c.label)).toEqual(["Escalate to next tier"]);
    expect(matchCommands(commands, "log").map((c) => c.label)).toEqual(["Sign out"]);
    expect(matchCommands(commands, "")).toHaveLength(3);
  });
});

describe("device data", () => {
  it("reads snapshot keys and units as words", () => {
    expect(labelFor("totalBytes")).toBe("Total");
    expect(labelFor("uptime_secs")).toBe("Uptime");
    expect(labelFor("osName")).toBe("OS name");
    expect(formatScalar(2048, "usedBytes")).toBe("2 KB");
    expect(formatScalar(97, "usedPercent")).toBe("97 %");
    expect(formatScalar(true)).toBe("Yes");
    expect(formatScalar(null)).toBe("—");
  });

  it("lists a snapshot diff as added, removed and changed lines", () => {
    const lines = diffLines({
      system: [{ field: "kernel", from: "6.1.0-17", to: "6.1.0-18" }],
      software: { installed: [{ name: "hplip", version: "3.22" }], removed: [{ name: "cups-pdf" }], upgraded: [] },
      disks: [{ mountPoint: "/", fromPercent: 81, toPercent: 97 }],
      services: [{ name: "cups.service", from: "running", to: null }],
      network: { interfacesAdded: ["wlan0"], interfacesRemoved: [], addressesChanged: [], dnsServers: { from: ["1.1.1.1"], to: [] } },
      printers: [],
      notCompared: ["logs"],
    });
    expect(lines.system).toEqual([{ kind: "changed", name: "Kernel", from: "6.1.0-17", to: "6.1.0-18" }]);
    expect(lines.software.map((line) => `${line.kind} ${line.name}`)).toEqual(["added hplip", "removed cups-pdf"]);
    expect(lines.disks[0]).toMatchObject({ kind: "changed", from: "81 % used", to: "97 % used" });
    expect(lines.services[0]).toMatchObject({ kind: "removed", name: "cups.service" });
    expect(lines.network.map((line) => line.name)).toEqual(["Interface wlan0", "DNS servers"]);
    expect(lines.notCompared).toEqual(["logs"]);
    // Garbage in, nothing out: the diff is JSON from another crate.
    expect(diffLines("nonsense").system).toEqual([]);
  });
});

describe("optimistic changes", () => {
  it("predict what the server will do", () => {
    const ticket = makeTicket({ status: "new", tier: "L1", assigneeId: null });
    expect(applyToTicket(ticket, { kind: "assign", assigneeId: 7 })).toMatchObject({ assigneeId: 7, status: "open" });
    expect(applyToTicket(ticket, { kind: "escalate", reason: "x" }).tier).toBe("L2");
    expect(applyToTicket(ticket, { kind: "priority", priority: "P1", reason: "CEO" })).toMatchObject({
      priority: "P1",
      priorityOverrideReason: "CEO",
    });
    expect(applyToTicket(ticket, { kind: "reply", body: "hi" }).status).toBe("open");
    expect(nextTier("L3")).toBeNull();
  });

  it("replace a ticket in cached queue pages without touching other pages", () => {
    const a = makeTicket({ id: 1 });
    const b = makeTicket({ id: 2 });
    const data = {
      pages: [
        { items: [a], nextCursor: "x", fromCache: false },
        { items: [b], nextCursor: null, fromCache: false },
      ],
      pageParams: [null, "x"],
    };
    const next = replaceTicketInPages(data, { ...b, title: "Changed" })!;
    expect(next.pages[0]).toBe(data.pages[0]);
    expect(next.pages[1]?.items[0]?.title).toBe("Changed");
    expect(replaceTicketInPages(data, makeTicket({ id: 99 }))).toBe(data);
  });
});

describe("views", () => {
  it("compare filters regardless of order and blank searches", () => {
    expect(sameFilters({ ...EMPTY_FILTERS, status: ["open", "new"], q: " " }, { ...EMPTY_FILTERS, status: ["new", "open"] })).toBe(
      true,
    );
    expect(sameFilters({ ...EMPTY_FILTERS, tier: ["L1"] }, EMPTY_FILTERS)).toBe(false);
  });
});
