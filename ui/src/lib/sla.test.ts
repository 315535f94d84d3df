import { describe, expect, it } from "vitest";

import type { TicketSla } from "../bindings/TicketSla";
import { NOW, minutesFromNow, runningTimer } from "../test/fixtures";
import { slaBadge, timerState } from "./sla";

const quiet = { atRisk: false, breached: false };

function sla(overrides: Partial<TicketSla>): TicketSla {
  return {
    firstResponse: null,
    resolution: null,
    firstResponseAlerts: quiet,
    resolutionAlerts: quiet,
    ...overrides,
  };
}

describe("SLA badge", () => {
  it.each([
    // target min, due in min, state, words
    [240, 180, "on_track", "3 h left"],
    [240, 100, "on_track", "1 h 40 min left"],
    [240, 59, "at_risk", "59 min left"],
    [240, 12, "at_risk", "12 min left"],
    [60, 1, "at_risk", "1 min left"],
    [240, -60, "breached", "Breached 1 h ago"],
    [240, -5, "breached", "Breached 5 min ago"],
    [2880, 2880, "on_track", "2 days left"],
  ] as const)("a %i min target due in %i min is %s: “%s”", (target, dueIn, state, words) => {
    const badge = slaBadge(sla({ resolution: runningTimer(target, dueIn) }), "open", NOW);
    expect(badge.state).toBe(state);
    expect(badge.words).toBe(words);
    expect(badge.clock).toBe("resolution");
  });

  it("trusts the server's at-risk alert even with plenty of wall-clock time left", () => {
    // Overnight: business time is nearly used up although the due date is far away.
    const badge = slaBadge(
      sla({ resolution: runningTimer(240, 600), resolutionAlerts: { atRisk: true, breached: false } }),
      "open",
      NOW,
    );
    expect(badge.state).toBe("at_risk");
    expect(badge.words).toBe("10 h left");
  });

  it("shows the more urgent of the two clocks", () => {
    const badge = slaBadge(
      sla({ firstResponse: runningTimer(60, 10), resolution: runningTimer(480, 400) }),
      "new",
      NOW,
    );
    expect(badge.clock).toBe("first_response");
    expect(badge.state).toBe("at_risk");
    expect(badge.words).toBe("10 min left");
  });

  it("prefers a breach over a running countdown", () => {
    const badge = slaBadge(
      sla({ firstResponse: runningTimer(60, -30), resolution: runningTimer(480, 20) }),
      "open",
      NOW,
    );
    expect(badge.state).toBe("breached");
    expect(badge.words).toBe("Breached 30 min ago");
  });

  it("is paused while waiting on the user and met once stopped in time", () => {
    const paused = { targetSecs: 3600, elapsedSecs: 600, runningSince: null, dueAt: null, stoppedAt: null };
    expect(timerState(paused, quiet, NOW)).toMatchObject({ state: "paused", words: "Paused" });
    const met = { targetSecs: 3600, elapsedSecs: 1200, runningSince: null, dueAt: null, stoppedAt: minutesFromNow(-5) };
    expect(timerState(met, quiet, NOW)).toMatchObject({ state: "met", words: "Met" });
    const late = { ...met, elapsedSecs: 4000 };
    expect(timerState(late, quiet, NOW)).toMatchObject({ state: "breached", words: "Breached" });
  });

  it("says so when no SLA applies", () => {
    expect(slaBadge(sla({}), "open", NOW)).toMatchObject({ state: "none", words: "No SLA", clock: null });
  });
});
