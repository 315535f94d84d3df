// The SLA badge: which clock matters now, its state and the time left in words.
//
// The server counts SLA time in business hours with a calendar the client does not have.
// What the client does have is exact enough: the server's `dueAt` (already calendar-aware)
// and the at-risk/breached alerts its sweeper sets. Business time never runs faster than
// wall time, so "less than a quarter of the target left on the wall clock" is always also
// at risk in business time: no false alarms, and the sweeper's flag covers the rest.
import type { SlaAlerts } from "../bindings/SlaAlerts";
import type { SlaTimer } from "../bindings/SlaTimer";
import type { Status } from "../bindings/Status";
import type { TicketSla } from "../bindings/TicketSla";
import { durationInWords } from "./format";

/** The server's default threshold (deskside-core `SlaSettings::at_risk_percent`). */
export const AT_RISK_PERCENT = 75;

export type SlaBadgeState = "on_track" | "at_risk" | "breached" | "paused" | "met" | "none";

export type SlaClock = "first_response" | "resolution";

export interface SlaBadgeInfo {
  state: SlaBadgeState;
  /** "12 min left", "Breached 1 h ago", "Paused", "Met". */
  words: string;
  /** Which clock the badge shows; null when the ticket has no SLA. */
  clock: SlaClock | null;
  /** When the shown clock runs out, if it is running. */
  dueAt: string | null;
  /** Milliseconds left (negative once breached), for sorting; null when not running. */
  msLeft: number | null;
}

const SEVERITY: Record<SlaBadgeState, number> = {
  none: -1,
  met: 0,
  paused: 1,
  on_track: 2,
  at_risk: 3,
  breached: 4,
};

export function timerState(
  timer: SlaTimer,
  alerts: SlaAlerts,
  now: Date,
  atRiskPercent = AT_RISK_PERCENT,
): SlaBadgeInfo & { clock: null } {
  const base = { clock: null, dueAt: timer.dueAt, msLeft: null } as const;
  if (timer.stoppedAt !== null) {
    const breached = timer.elapsedSecs > timer.targetSecs;
    return { ...base, dueAt: null, state: breached ? "breached" : "met", words: breached ? "Breached" : "Met" };
  }
  if (timer.runningSince === null || timer.dueAt === null) {
    const breached = timer.elapsedSecs >= timer.targetSecs;
    return {
      ...base,
      dueAt: null,
      state: breached ? "breached" : "paused",
      words: breached ? "Breached" : "Paused",
    };
  }
  const msLeft = new Date(timer.dueAt).getTime() - now.getTime();
  if (msLeft <= 0) {
    return { ...base, msLeft, state: "breached", words: `Breached ${durationInWords(-msLeft)} ago` };
  }
  const riskWindowMs = (timer.targetSecs * 1000 * (100 - atRiskPercent)) / 100;
  const atRisk = alerts.atRisk || msLeft <= riskWindowMs;
  return { ...base, msLeft, state: atRisk ? "at_risk" : "on_track", words: `${durationInWords(msLeft)} left` };
}

/**
 * The badge for a ticket: the most severe of its two clocks; between equals, the one due
 * first. Closed and resolved tickets show how the SLA ended rather than a countdown.
 */
export function slaBadge(sla: TicketSla, _status: Status, now: Date): SlaBadgeInfo {
  const candidates: SlaBadgeInfo[] = [];
  if (sla.firstResponse) {
    candidates.push({ ...timerState(sla.firstResponse, sla.firstResponseAlerts, now), clock: "first_response" });
  }
  if (sla.resolution) {
    candidates.push({ ...timerState(sla.resolution, sla.resolutionAlerts, now), clock: "resolution" });
  }
  if (candidates.length === 0) {
    return { state: "none", words: "No SLA", clock: null, dueAt: null, msLeft: null };
  }
  candidates.sort((a, b) => {
    const bySeverity = SEVERITY[b.state] - SEVERITY[a.state];
    if (bySeverity !== 0) return bySeverity;
    return (a.msLeft ?? Number.POSITIVE_INFINITY) - (b.msLeft ?? Number.POSITIVE_INFINITY);
  });
  // Non-empty: checked above.
  return candidates[0]!;
}

export const SLA_CLOCK_LABEL: Record<SlaClock, string> = {
  first_response: "First response",
  resolution: "Resolution",
};
