import { describe, expect, it } from "vitest";

import { durationInWords, formatBytes, humanizeKey, initials, ticketNumber, timeAgo } from "./format";
import { routeFieldErrors, sentence } from "./formErrors";
import { staffMayMove } from "./statusMoves";
import { describeEvent } from "./timeline";

describe("format", () => {
  it("numbers tickets the way people say them", () => {
    expect(ticketNumber(1042)).toBe("HD-1042");
  });

  it.each([
    [30_000, "30 s"],
    [12 * 60_000, "12 min"],
    [80 * 60_000, "1 h 20 min"],
    [11 * 3_600_000 + 5 * 60_000, "11 h"],
    [26 * 3_600_000, "1 day"],
    [5 * 86_400_000, "5 days"],
  ])("durationInWords(%i) = %s", (ms, words) => {
    expect(durationInWords(ms)).toBe(words);
  });

  it("says how long ago, in words", () => {
    const now = new Date("2030-01-01T12:00:00Z");
    expect(timeAgo("2030-01-01T11:59:40Z", now)).toBe("just now");
    expect(timeAgo("2030-01-01T11:58:00Z", now)).toBe("2 min ago");
  });

  it("formats sizes, keys and initials", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2 KB");
    expect(humanizeKey("lastBootTime")).toBe("Last boot time");
    expect(humanizeKey("mount_point")).toBe("Mount point");
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("root")).toBe("RO");
  });
});

describe("server field errors", () => {
  it("go to the matching field; the rest are returned", () => {
    const seen: [string, string][] = [];
    const rest = routeFieldErrors(
      [
        { field: "title", message: "must not be empty" },
        { field: "requester.email", message: "must be an e-mail address" },
      ],
      ["title", "description"] as const,
      (name, message) => seen.push([name, message]),
    );
    expect(seen).toEqual([["title", "Must not be empty."]]);
    expect(rest).toEqual([{ field: "requester.email", message: "must be an e-mail address" }]);
    expect(sentence("already fine.")).toBe("Already fine.");
  });
});

describe("status moves", () => {
  it("mirror the server's transition table", () => {
    expect(staffMayMove("new", "open", "agent")).toBe(true);
    expect(staffMayMove("open", "resolved", "agent")).toBe(true);
    expect(staffMayMove("open", "closed", "agent")).toBe(false);
    expect(staffMayMove("open", "closed", "supervisor")).toBe(true);
    expect(staffMayMove("resolved", "closed", "agent")).toBe(true);
    expect(staffMayMove("closed", "open", "agent")).toBe(false);
    expect(staffMayMove("open", "new", "admin")).toBe(false);
  });
});

describe("timeline words", () => {
  it("word events for the person reading them", () => {
    const resolved = { type: "status_changed", from: "open", to: "resolved" } as const;
    expect(describeEvent(resolved, "requester")?.text).toBe("The help desk marked this as resolved");
    expect(describeEvent(resolved, "agent")?.text).toBe("Status changed from Open to Resolved");
    const escalated = { type: "escalated", from: "L1", to: "L2", reason: "needs admin rights", automatic: false } as const;
    expect(describeEvent(escalated, "requester")?.text).toBe("Passed on to the L2 support team");
    expect(describeEvent(escalated, "agent")?.text).toBe("Escalated L1 → L2: needs admin rights");
    expect(describeEvent({ type: "assigned", from: null, to: 7 }, "agent", () => "Alex")?.text).toBe("Assigned to Alex");
    expect(describeEvent({ type: "public_reply", body: "hi" }, "agent")).toBeNull();
  });
});
