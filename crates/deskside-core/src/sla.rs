//! SLA engine: business calendars, policies and the timers that run on a ticket.
//!
//! Targets are business time: a P3 "8 hours to resolve" means eight opening hours of the
//! support desk's calendar (time zone, weekly hours, holidays), not eight wall-clock hours.
//! Timers pause while a ticket waits on the user and keep what they had already consumed.

use std::collections::BTreeSet;

use std::fmt;

use chrono::{
    DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeDelta, TimeZone, Utc, Weekday,
};
use chrono_tz::{GapInfo, Tz};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use utoipa::ToSchema;

use crate::classification::{Priority, UserKind, wire_names};
use crate::validation::ValidationErrors;

/// One opening interval within a day, local time, `start < end`. `end` may be 24:00 written
/// as `"24:00"` meaning midnight at the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpeningInterval {
    #[schema(value_type = String, example = "08:00")]
    pub start: LocalTime,
    #[schema(value_type = String, example = "17:00")]
    pub end: LocalTime,
}

/// A wall-clock time of day in minutes since midnight, 0..=1440. Serialised as `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime(pub u16);

/// When the desk is open, in its own time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BusinessCalendar {
    /// IANA time zone name, e.g. `Europe/Berlin`.
    #[schema(value_type = String, example = "Europe/Berlin")]
    pub time_zone: Tz,
    /// Seven entries, Monday first; each a sorted list of non-overlapping intervals.
    pub weekly_hours: Vec<Vec<OpeningInterval>>,
    /// Local dates on which the desk is closed all day.
    #[schema(value_type = Vec<String>)]
    pub holidays: BTreeSet<NaiveDate>,
}

/// First-response and resolution targets for one priority and user kind, in business minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlaPolicy {
    pub priority: Priority,
    pub user_kind: UserKind,
    pub first_response_minutes: u32,
    pub resolution_minutes: u32,
}

/// Everything the SLA engine needs: the calendar, the policy table and the thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlaSettings {
    pub calendar: BusinessCalendar,
    pub policies: Vec<SlaPolicy>,
    /// Share of the target, in percent (1..=99), after which a timer is at risk.
    pub at_risk_percent: u8,
    /// Whether a breach escalates the ticket to the next tier automatically.
    pub auto_escalate_on_breach: bool,
}

/// Where a timer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum SlaState {
    /// Running, below the at-risk threshold.
    OnTrack,
    /// Running, past the at-risk threshold, not yet due.
    AtRisk,
    /// Past due (running, paused or stopped late).
    Breached,
    /// Waiting on the user; not counting.
    Paused,
    /// Stopped in time.
    Met,
}

wire_names! {
    SlaState => [
        OnTrack = "on_track", AtRisk = "at_risk", Breached = "breached", Paused = "paused",
        Met = "met",
    ],
}

/// One SLA clock on a ticket (first response or resolution).
///
/// Invariant: `elapsed_secs` is the business time consumed up to `running_since` (or up to
/// the pause/stop if not running); `due_at` is the instant the target is reached if the timer
/// keeps running, `None` while paused or stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SlaTimer {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub target_secs: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_secs: i64,
    pub running_since: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
}

/// `LocalTime` helpers.
impl LocalTime {
    pub fn hm(hours: u16, minutes: u16) -> LocalTime {
        LocalTime(hours * 60 + minutes)
    }

    /// Midnight at the end of the day, written `"24:00"`.
    pub const END_OF_DAY: LocalTime = LocalTime(MINUTES_PER_DAY);

    /// Parses `"HH:MM"`, 00:00..=24:00, exactly two digits each.
    pub fn parse(text: &str) -> Option<LocalTime> {
        let bytes = text.as_bytes();
        if bytes.len() != 5 || bytes[2] != b':' {
            return None;
        }
        let two_digits = |at: usize| -> Option<u16> {
            let (tens, ones) = (bytes[at], bytes[at + 1]);
            (tens.is_ascii_digit() && ones.is_ascii_digit())
                .then(|| u16::from(tens - b'0') * 10 + u16::from(ones - b'0'))
        };
        let (hours, minutes) = (two_digits(0)?, two_digits(3)?);
        let total = hours * 60 + minutes;
        (minutes < 60 && total <= MINUTES_PER_DAY).then_some(LocalTime(total))
    }
}

const MINUTES_PER_DAY: u16 = 24 * 60;

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LocalTime, D::Error> {
        struct LocalTimeVisitor;

        impl de::Visitor<'_> for LocalTimeVisitor {
            type Value = LocalTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a time of day \"HH:MM\" between \"00:00\" and \"24:00\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<LocalTime, E> {
                LocalTime::parse(text)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
            }
        }

        deserializer.deserialize_str(LocalTimeVisitor)
    }
}

/// How far `add_business_time` looks before it gives up on a calendar that never opens.
const FAR_FUTURE: Months = Months::new(100 * 12);

impl BusinessCalendar {
    /// Open every minute of every day, UTC.
    pub fn always_open() -> BusinessCalendar {
        let all_day = OpeningInterval {
            start: LocalTime(0),
            end: LocalTime::END_OF_DAY,
        };
        BusinessCalendar {
            time_zone: Tz::UTC,
            weekly_hours: vec![vec![all_day]; 7],
            holidays: BTreeSet::new(),
        }
    }

    /// Monday to Friday, `start`–`end` local time, no holidays.
    pub fn weekdays(time_zone: Tz, start: LocalTime, end: LocalTime) -> BusinessCalendar {
        let workday = vec![OpeningInterval { start, end }];
        let mut weekly_hours = vec![workday; 5];
        weekly_hours.extend([Vec::new(), Vec::new()]);
        BusinessCalendar {
            time_zone,
            weekly_hours,
            holidays: BTreeSet::new(),
        }
    }

    /// Checks shape: seven days, intervals sorted, non-overlapping, within 00:00–24:00.
    /// Field paths like `weeklyHours[2][0].end`.
    pub fn validate(&self, errors: &mut ValidationErrors, field_prefix: &str) {
        let weekly_hours_field = if field_prefix.is_empty() {
            "weeklyHours".to_owned()
        } else {
            format!("{field_prefix}.weeklyHours")
        };
        if self.weekly_hours.len() != 7 {
            errors.add(
                &weekly_hours_field,
                format!(
                    "must have exactly 7 days, Monday first (has {})",
                    self.weekly_hours.len()
                ),
            );
        }
        let mut open_minutes = 0_u32;
        for (day, intervals) in self.weekly_hours.iter().enumerate() {
            let mut previous_end: Option<LocalTime> = None;
            for (index, interval) in intervals.iter().enumerate() {
                let field = format!("{weekly_hours_field}[{day}][{index}]");
                let mut well_formed = true;
                if interval.start > LocalTime::END_OF_DAY {
                    errors.add(&format!("{field}.start"), "must be between 00:00 and 24:00");
                    well_formed = false;
                }
                if interval.end > LocalTime::END_OF_DAY {
                    errors.add(&format!("{field}.end"), "must be between 00:00 and 24:00");
                    well_formed = false;
                }
                if well_formed && interval.start >= interval.end {
                    errors.add(
                        &format!("{field}.end"),
                        format!("must be after the start ({})", interval.start),
                    );
                    well_formed = false;
                }
                if let Some(previous_end) = previous_end
                    && interval.start < previous_end
                {
                    errors.add(
                        &format!("{field}.start"),
                        format!(
                            "must not be before the end of the previous interval ({previous_end}); \
                             intervals are sorted and must not overlap"
                        ),
                    );
                    well_formed = false;
                }
                if well_formed {
                    open_minutes += u32::from(interval.end.0 - interval.start.0);
                }
                previous_end = Some(previous_end.map_or(interval.end, |end| end.max(interval.end)));
            }
        }
        if open_minutes == 0 && !self.weekly_hours.is_empty() {
            errors.add(
                &weekly_hours_field,
                "must contain at least one opening interval",
            );
        }
    }

    /// The instant at which `business_secs` of opening time have passed after `start`.
    /// `business_secs == 0` returns the next opening instant at or after `start`.
    ///
    /// Negative amounts count as 0. When the calendar does not provide that much opening time
    /// within 100 years (it never opens, or the amount is absurd), the answer is
    /// `start + 100 years`: a deadline that will never come, instead of an endless search.
    pub fn add_business_time(&self, start: DateTime<Utc>, business_secs: i64) -> DateTime<Utc> {
        let horizon = start
            .checked_add_months(FAR_FUTURE)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let schedule = Schedule::new(self);
        let business_secs = business_secs.max(0);
        // Business time never runs faster than the wall clock, so such an amount cannot be
        // reached before the horizon; this also keeps the arithmetic below from overflowing.
        if schedule.week == TimeDelta::zero() || business_secs > (horizon - start).num_seconds() {
            return horizon;
        }
        let mut remaining = TimeDelta::seconds(business_secs);
        // The day before: where a fall-back transition crosses midnight, the previous local
        // date's hours can still lie after `start`.
        let mut date = schedule.local_date(start);
        date = date.pred_opt().unwrap_or(date);
        loop {
            if remaining > schedule.week
                && let Some(week_start) = schedule.regular_week_start(date)
                && week_start >= start
            {
                remaining -= schedule.week;
                match date.checked_add_days(Days::new(7)) {
                    Some(next) => date = next,
                    None => return horizon,
                }
                continue;
            }
            match schedule.local_to_utc(date, 0) {
                Some(day_start) if day_start <= horizon => {}
                _ => return horizon,
            }
            for (open, close) in schedule.opening_spans(date) {
                if close <= start {
                    continue;
                }
                let open = open.max(start);
                let available = close - open;
                if remaining <= available {
                    return open + remaining;
                }
                remaining -= available;
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => return horizon,
            }
        }
    }

    /// Opening time between two instants, in seconds; 0 when `to <= from`.
    pub fn business_seconds_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let schedule = Schedule::new(self);
        if schedule.week == TimeDelta::zero() {
            return 0;
        }
        let mut total = TimeDelta::zero();
        let first = schedule.local_date(from);
        let last = schedule.local_date(to);
        // One extra day on each side: a fall-back transition across midnight can put hours of
        // a neighbouring local date inside the range.
        let mut date = first.pred_opt().unwrap_or(first);
        let last = last.succ_opt().unwrap_or(last);
        while date <= last {
            // Only weeks well inside the range can be counted whole; the cheap date test
            // spares probing offsets for the days near either end.
            let week_fits = date
                .checked_add_days(Days::new(7))
                .is_some_and(|week_end| week_end <= last);
            if week_fits
                && let Some(week_start) = schedule.regular_week_start(date)
                && week_start >= from
                && week_start
                    .checked_add_signed(TimeDelta::days(7))
                    .is_some_and(|week_end| week_end <= to)
            {
                total += schedule.week;
                match date.checked_add_days(Days::new(7)) {
                    Some(next) => date = next,
                    None => break,
                }
                continue;
            }
            for (open, close) in schedule.opening_spans(date) {
                let (open, close) = (open.max(from), close.min(to));
                if close > open {
                    total += close - open;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total.num_seconds()
    }
}

/// A calendar prepared for arithmetic: intervals clamped to the day, sorted and merged, so
/// that an unvalidated calendar can neither double-count time nor loop forever.
struct Schedule<'a> {
    time_zone: Tz,
    /// Monday first; minutes since local midnight, `start < end <= 1440`.
    days: [Vec<(u16, u16)>; 7],
    /// Opening time of one week without holidays or offset changes.
    week: TimeDelta,
    holidays: &'a BTreeSet<NaiveDate>,
}

impl<'a> Schedule<'a> {
    fn new(calendar: &'a BusinessCalendar) -> Schedule<'a> {
        let days: [Vec<(u16, u16)>; 7] = std::array::from_fn(|day| {
            let mut intervals: Vec<(u16, u16)> = calendar
                .weekly_hours
                .get(day)
                .into_iter()
                .flatten()
                .map(|interval| {
                    (
                        interval.start.0.min(MINUTES_PER_DAY),
                        interval.end.0.min(MINUTES_PER_DAY),
                    )
                })
                .filter(|(start, end)| start < end)
                .collect();
            intervals.sort_unstable();
            let mut merged: Vec<(u16, u16)> = Vec::with_capacity(intervals.len());
            for (start, end) in intervals {
                match merged.last_mut() {
                    Some(previous) if start <= previous.1 => previous.1 = previous.1.max(end),
                    _ => merged.push((start, end)),
                }
            }
            merged
        });
        let week_minutes: i64 = days
            .iter()
            .flatten()
            .map(|(start, end)| i64::from(end - start))
            .sum();
        Schedule {
            time_zone: calendar.time_zone,
            days,
            week: TimeDelta::minutes(week_minutes),
            holidays: &calendar.holidays,
        }
    }

    fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        let utc = instant.naive_utc();
        let offset = self.time_zone.offset_from_utc_datetime(&utc).fix();
        // Near the ends of chrono's range the local time may not be representable; the UTC
        // date is then within a day, and callers walk a day either side anyway.
        utc.checked_add_offset(offset).unwrap_or(utc).date()
    }

    /// The first instant at which the local clock shows `minute` of `date` or later: the
    /// earliest of two instants in a fall-back overlap, the end of the gap for a local time
    /// that a spring-forward skips. `None` only at the edge of chrono's range.
    ///
    /// That rule is monotonic in local time, so consecutive intervals and days never overlap
    /// in UTC and a span lost in a gap is simply empty.
    fn local_to_utc(&self, date: NaiveDate, minute: u16) -> Option<DateTime<Utc>> {
        let local = if minute >= MINUTES_PER_DAY {
            date.succ_opt()?.and_time(NaiveTime::MIN)
        } else {
            date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?
        };
        match self.time_zone.from_local_datetime(&local) {
            LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, second) => Some(first.min(second).with_timezone(&Utc)),
            LocalResult::None => self.end_of_gap(&local),
        }
    }

    fn end_of_gap(&self, local: &NaiveDateTime) -> Option<DateTime<Utc>> {
        if let Some(end) = GapInfo::new(local, &self.time_zone).and_then(|gap| gap.end) {
            return Some(end.with_timezone(&Utc));
        }
        // chrono-tz only lacks the end of a gap at the end of its table, where no gap can be;
        // reading the local time with the offset in force there is the closest answer.
        let offset = self.time_zone.offset_from_utc_datetime(local).fix();
        local
            .and_utc()
            .checked_sub_signed(TimeDelta::seconds(i64::from(offset.local_minus_utc())))
    }

    /// Opening spans of one local date in UTC, ascending, empty on holidays. Spans lost
    /// entirely in a spring-forward gap are left out.
    fn opening_spans(
        &self,
        date: NaiveDate,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let intervals: &[(u16, u16)] = if self.holidays.contains(&date) {
            &[]
        } else {
            &self.days[weekday_index(date.weekday())]
        };
        intervals.iter().filter_map(move |&(start, end)| {
            let open = self.local_to_utc(date, start)?;
            let close = self.local_to_utc(date, end)?;
            (open < close).then_some((open, close))
        })
    }

    /// The UTC start of the seven local days from `date` when they hold exactly
    /// [`Schedule::week`] of opening time: no holiday and one UTC offset throughout.
    ///
    /// The offset is probed once a day: tzdb has offset changes that revert after just under
    /// seven days (America/Recife in 2000, Asia/Gaza in 2040), which comparing only both ends
    /// of a week could miss; none revert within a day.
    fn regular_week_start(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        let last = date.checked_add_days(Days::new(6))?;
        if self.holidays.range(date..=last).next().is_some() {
            return None;
        }
        let week_start = self.local_to_utc(date, 0)?;
        let offset_at = |delta: TimeDelta| {
            let instant = week_start.checked_add_signed(delta)?;
            Some(
                self.time_zone
                    .offset_from_utc_datetime(&instant.naive_utc())
                    .fix(),
            )
        };
        // Probing just before the start also catches a spring-forward at local midnight, where
        // the first instant of the day already has the new offset.
        let offset = offset_at(TimeDelta::seconds(-1))?;
        (0..=7)
            .all(|day| offset_at(TimeDelta::days(day)) == Some(offset))
            .then_some(week_start)
    }
}

impl SlaSettings {
    /// A realistic default: Mon–Fri 08:00–18:00 in `time_zone`, a full policy table for all
    /// priorities and user kinds, at risk at 75 %, auto-escalation on.
    ///
    /// Business customers pay for tighter targets than internal staff get; private customers
    /// get looser ones. A business day is ten hours here: 24 h of resolution time is two and a
    /// half working days, 40 h four.
    pub fn standard(time_zone: Tz) -> SlaSettings {
        use Priority::*;
        use UserKind::*;
        const HOUR: u32 = 60;
        // (priority, user kind, first response, resolution), in business minutes.
        let table = [
            (P1, InternalStaff, 30, 4 * HOUR),
            (P1, BusinessCustomer, 15, 3 * HOUR),
            (P1, PrivateCustomer, HOUR, 8 * HOUR),
            (P2, InternalStaff, HOUR, 8 * HOUR),
            (P2, BusinessCustomer, 30, 6 * HOUR),
            (P2, PrivateCustomer, 2 * HOUR, 16 * HOUR),
            (P3, InternalStaff, 4 * HOUR, 24 * HOUR),
            (P3, BusinessCustomer, 2 * HOUR, 16 * HOUR),
            (P3, PrivateCustomer, 8 * HOUR, 40 * HOUR),
            (P4, InternalStaff, 8 * HOUR, 40 * HOUR),
            (P4, BusinessCustomer, 4 * HOUR, 30 * HOUR),
            (P4, PrivateCustomer, 16 * HOUR, 80 * HOUR),
        ];
        SlaSettings {
            calendar: BusinessCalendar::weekdays(
                time_zone,
                LocalTime::hm(8, 0),
                LocalTime::hm(18, 0),
            ),
            policies: table
                .into_iter()
                .map(
                    |(priority, user_kind, first_response_minutes, resolution_minutes)| SlaPolicy {
                        priority,
                        user_kind,
                        first_response_minutes,
                        resolution_minutes,
                    },
                )
                .collect(),
            at_risk_percent: 75,
            auto_escalate_on_breach: true,
        }
    }

    pub fn policy_for(&self, priority: Priority, user_kind: UserKind) -> Option<&SlaPolicy> {
        self.policies
            .iter()
            .find(|p| p.priority == priority && p.user_kind == user_kind)
    }

    /// Calendar shape, policy minutes > 0 with first response <= resolution, no duplicate
    /// (priority, user kind) pairs, at-risk percent within 1..=99.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        self.calendar.validate(&mut errors, "calendar");
        for (index, policy) in self.policies.iter().enumerate() {
            let field = format!("policies[{index}]");
            if policy.first_response_minutes == 0 {
                errors.add(
                    &format!("{field}.firstResponseMinutes"),
                    "must be greater than 0",
                );
            }
            if policy.resolution_minutes == 0 {
                errors.add(
                    &format!("{field}.resolutionMinutes"),
                    "must be greater than 0",
                );
            } else if policy.first_response_minutes > policy.resolution_minutes {
                errors.add(
                    &format!("{field}.resolutionMinutes"),
                    format!(
                        "must be at least the first response target ({} minutes)",
                        policy.first_response_minutes
                    ),
                );
            }
            let earlier = self.policies[..index]
                .iter()
                .any(|p| p.priority == policy.priority && p.user_kind == policy.user_kind);
            if earlier {
                errors.add(
                    &field,
                    format!(
                        "duplicate policy for {:?} and {}",
                        policy.priority,
                        user_kind_name(policy.user_kind)
                    ),
                );
            }
        }
        if !(1..=99).contains(&self.at_risk_percent) {
            errors.add("atRiskPercent", "must be between 1 and 99");
        }
        errors.into_result()
    }
}

fn user_kind_name(user_kind: UserKind) -> &'static str {
    match user_kind {
        UserKind::InternalStaff => "internal staff",
        UserKind::BusinessCustomer => "business customers",
        UserKind::PrivateCustomer => "private customers",
    }
}

impl SlaTimer {
    /// Starts a timer at `now` with `target_secs` of business time.
    pub fn start(target_secs: i64, now: DateTime<Utc>, calendar: &BusinessCalendar) -> SlaTimer {
        SlaTimer {
            target_secs,
            elapsed_secs: 0,
            running_since: Some(now),
            due_at: Some(calendar.add_business_time(now, target_secs)),
            stopped_at: None,
        }
    }

    /// Stops counting (waiting on the user). No-op if not running.
    pub fn pause(&mut self, now: DateTime<Utc>, calendar: &BusinessCalendar) {
        if let Some(since) = self.running_since.take() {
            self.elapsed_secs += calendar.business_seconds_between(since, now);
            self.due_at = None;
        }
    }

    /// Counts again from `now`. No-op if running or stopped.
    pub fn resume(&mut self, now: DateTime<Utc>, calendar: &BusinessCalendar) {
        if !self.is_running() && !self.is_stopped() {
            self.run_from(now, calendar);
        }
    }

    /// The target was reached (first response sent, ticket resolved). No-op if stopped.
    pub fn stop(&mut self, now: DateTime<Utc>, calendar: &BusinessCalendar) {
        if self.is_stopped() {
            return;
        }
        self.pause(now, calendar);
        self.stopped_at = Some(now);
    }

    /// Un-stops a stopped timer (ticket reopened), continuing from its elapsed time.
    pub fn restart(&mut self, now: DateTime<Utc>, calendar: &BusinessCalendar) {
        if self.stopped_at.take().is_some() {
            self.run_from(now, calendar);
        }
    }

    /// New target (priority or user kind changed), keeping the time already consumed.
    pub fn retarget(&mut self, target_secs: i64, now: DateTime<Utc>, calendar: &BusinessCalendar) {
        // The due date follows from when the timer started running and what it had consumed
        // before, not from when the target changed: a shorter target can be due in the past,
        // and the queue shows since when.
        let _ = now;
        self.target_secs = target_secs;
        if let Some(since) = self.running_since {
            self.run_from(since, calendar);
        }
    }

    /// Business seconds consumed as of `now`.
    pub fn elapsed_at(&self, now: DateTime<Utc>, calendar: &BusinessCalendar) -> i64 {
        self.elapsed_secs
            + self
                .running_since
                .map_or(0, |since| calendar.business_seconds_between(since, now))
    }

    /// The state at `now`, given the at-risk threshold in percent.
    ///
    /// A running timer is breached from the instant it reaches its target; a paused one stays
    /// breached; a stopped one counts as met when it stopped no later than the target.
    pub fn state_at(
        &self,
        now: DateTime<Utc>,
        calendar: &BusinessCalendar,
        at_risk_percent: u8,
    ) -> SlaState {
        if self.is_stopped() {
            return if self.elapsed_secs <= self.target_secs {
                SlaState::Met
            } else {
                SlaState::Breached
            };
        }
        if !self.is_running() {
            return if self.elapsed_secs >= self.target_secs {
                SlaState::Breached
            } else {
                SlaState::Paused
            };
        }
        let elapsed = self.elapsed_at(now, calendar);
        if elapsed >= self.target_secs {
            SlaState::Breached
        } else if elapsed >= at_risk_threshold(self.target_secs, at_risk_percent) {
            SlaState::AtRisk
        } else {
            SlaState::OnTrack
        }
    }

    /// The instant this running timer crosses the at-risk threshold; `None` unless running.
    ///
    /// A timer already past the threshold when it started running reports that start.
    pub fn at_risk_at(
        &self,
        calendar: &BusinessCalendar,
        at_risk_percent: u8,
    ) -> Option<DateTime<Utc>> {
        let since = self.running_since?;
        let remaining = at_risk_threshold(self.target_secs, at_risk_percent) - self.elapsed_secs;
        Some(if remaining <= 0 {
            since
        } else {
            calendar.add_business_time(since, remaining)
        })
    }

    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped_at.is_some()
    }

    fn run_from(&mut self, now: DateTime<Utc>, calendar: &BusinessCalendar) {
        self.running_since = Some(now);
        self.due_at = Some(calendar.add_business_time(now, self.target_secs - self.elapsed_secs));
    }
}

/// The fewest elapsed seconds that count as at risk: `elapsed * 100 >= target * percent`.
fn at_risk_threshold(target_secs: i64, at_risk_percent: u8) -> i64 {
    let scaled = i128::from(target_secs) * i128::from(at_risk_percent);
    // Rounded up so that the threshold agrees with the comparison in whole seconds.
    let threshold = if scaled > 0 {
        (scaled + 99) / 100
    } else {
        scaled / 100
    };
    i64::try_from(threshold).unwrap_or(i64::MAX)
}

/// Which weekday index (Monday = 0) `weekly_hours` uses for a weekday.
pub fn weekday_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

#[cfg(test)]
mod tests {
    use chrono_tz::{America, Asia, Europe, Pacific};

    use super::*;

    const MINUTE: i64 = 60;
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    /// `"2025-03-28 17:00 +01:00"`, optionally with seconds, read as the instant it names.
    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z")
            .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M %z"))
            .unwrap_or_else(|error| panic!("bad instant {text:?}: {error}"))
            .with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// Seven day specs, Monday first, each like `"08:00-12:00 13:00-17:00"` or `""` (closed).
    fn calendar(time_zone: Tz, days: [&str; 7], holidays: &[&str]) -> BusinessCalendar {
        let weekly_hours = days
            .iter()
            .map(|day| {
                day.split_whitespace()
                    .map(|interval| {
                        let (start, end) = interval.split_once('-').unwrap();
                        OpeningInterval {
                            start: LocalTime::parse(start).unwrap(),
                            end: LocalTime::parse(end).unwrap(),
                        }
                    })
                    .collect()
            })
            .collect();
        BusinessCalendar {
            time_zone,
            weekly_hours,
            holidays: holidays.iter().map(|text| date(text)).collect(),
        }
    }

    fn every_day(time_zone: Tz, hours: &str) -> BusinessCalendar {
        calendar(time_zone, [hours; 7], &[])
    }

    fn sundays(time_zone: Tz, hours: &str) -> BusinessCalendar {
        calendar(time_zone, ["", "", "", "", "", "", hours], &[])
    }

    /// Berlin office with a lunch break and the 2025 public holidays that fall on weekdays.
    fn office() -> BusinessCalendar {
        let day = "08:00-12:00 13:00-17:00";
        calendar(
            Europe::Berlin,
            [day, day, day, day, day, "", ""],
            &[
                "2025-04-18",
                "2025-04-21",
                "2025-12-25",
                "2025-12-26",
                "2026-01-01",
            ],
        )
    }

    fn new_york() -> BusinessCalendar {
        BusinessCalendar::weekdays(America::New_York, LocalTime::hm(8, 0), LocalTime::hm(18, 0))
    }

    fn never_open() -> BusinessCalendar {
        calendar(Europe::Berlin, [""; 7], &[])
    }

    struct Fixtures {
        office: BusinessCalendar,
        new_york: BusinessCalendar,
        always_open: BusinessCalendar,
        berlin_24x7: BusinessCalendar,
        new_york_24x7: BusinessCalendar,
        // Samoa skipped 2011-12-30 entirely.
        apia_24x7: BusinessCalendar,
        // Chile springs forward at local midnight: 2025-09-07 starts at 01:00.
        santiago_24x7: BusinessCalendar,
        // Recife had daylight saving time for just under a week in 2000, from local midnight:
        // a week can start in the gap and end with the offset it began with.
        recife_sundays: BusinessCalendar,
        berlin_sunday_night: BusinessCalendar,
        berlin_sunday_from_gap: BusinessCalendar,
        berlin_sunday_gap_only: BusinessCalendar,
    }

    fn fixtures() -> Fixtures {
        Fixtures {
            office: office(),
            new_york: new_york(),
            always_open: BusinessCalendar::always_open(),
            berlin_24x7: every_day(Europe::Berlin, "00:00-24:00"),
            new_york_24x7: every_day(America::New_York, "00:00-24:00"),
            apia_24x7: every_day(Pacific::Apia, "00:00-24:00"),
            santiago_24x7: every_day(America::Santiago, "00:00-24:00"),
            recife_sundays: sundays(America::Recife, "00:00-24:00"),
            berlin_sunday_night: sundays(Europe::Berlin, "01:00-04:00"),
            berlin_sunday_from_gap: sundays(Europe::Berlin, "02:30-05:00"),
            berlin_sunday_gap_only: sundays(Europe::Berlin, "02:00-03:00"),
        }
    }

    fn report(failures: Vec<String>) {
        assert!(
            failures.is_empty(),
            "{} case(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn add_business_time_cases() {
        let f = fixtures();
        #[rustfmt::skip]
        let cases: &[(&str, &BusinessCalendar, &str, i64, &str)] = &[
            // name, calendar, start, business seconds, expected
            ("at opening, nothing to add", &f.office, "2025-02-03 08:00 +01:00", 0, "2025-02-03 08:00 +01:00"),
            ("before opening, nothing to add", &f.office, "2025-02-03 07:00 +01:00", 0, "2025-02-03 08:00 +01:00"),
            ("before opening", &f.office, "2025-02-03 07:00 +01:00", HOUR, "2025-02-03 09:00 +01:00"),
            ("across lunch", &f.office, "2025-02-03 11:30 +01:00", HOUR, "2025-02-03 13:30 +01:00"),
            ("at lunch, nothing to add", &f.office, "2025-02-03 12:00 +01:00", 0, "2025-02-03 13:00 +01:00"),
            ("during lunch", &f.office, "2025-02-03 12:30 +01:00", 30 * MINUTE, "2025-02-03 13:30 +01:00"),
            ("up to closing exactly", &f.office, "2025-02-03 16:00 +01:00", HOUR, "2025-02-03 17:00 +01:00"),
            ("one second past closing", &f.office, "2025-02-03 16:00 +01:00", HOUR + 1, "2025-02-04 08:00:01 +01:00"),
            ("at closing, nothing to add", &f.office, "2025-02-03 17:00 +01:00", 0, "2025-02-04 08:00 +01:00"),
            ("after closing, a full day", &f.office, "2025-02-03 18:00 +01:00", 8 * HOUR, "2025-02-04 17:00 +01:00"),
            ("friday into monday", &f.office, "2025-02-07 16:00 +01:00", 2 * HOUR, "2025-02-10 09:00 +01:00"),
            ("saturday, nothing to add", &f.office, "2025-02-08 10:00 +01:00", 0, "2025-02-10 08:00 +01:00"),
            ("sunday night", &f.office, "2025-02-09 23:59 +01:00", 1, "2025-02-10 08:00:01 +01:00"),
            ("one week", &f.office, "2025-02-03 08:00 +01:00", 40 * HOUR, "2025-02-07 17:00 +01:00"),
            ("three weeks", &f.office, "2025-02-03 08:00 +01:00", 120 * HOUR, "2025-02-21 17:00 +01:00"),
            ("three weeks and an hour", &f.office, "2025-02-03 08:00 +01:00", 121 * HOUR, "2025-02-24 09:00 +01:00"),
            ("three weeks from mid-week", &f.office, "2025-02-05 10:00 +01:00", 120 * HOUR, "2025-02-26 10:00 +01:00"),
            ("easter: good friday to easter monday", &f.office, "2025-04-17 16:00 +02:00", 2 * HOUR, "2025-04-22 09:00 +02:00"),
            ("christmas", &f.office, "2025-12-24 16:00 +01:00", 2 * HOUR, "2025-12-29 09:00 +01:00"),
            ("on a holiday, nothing to add", &f.office, "2025-12-25 10:00 +01:00", 0, "2025-12-29 08:00 +01:00"),
            ("two weeks over christmas and new year", &f.office, "2025-12-15 08:00 +01:00", 96 * HOUR, "2026-01-02 17:00 +01:00"),
            ("berlin spring forward over the weekend", &f.office, "2025-03-28 16:00 +01:00", 2 * HOUR, "2025-03-31 09:00 +02:00"),
            ("berlin fall back over the weekend", &f.office, "2025-10-24 16:00 +02:00", 2 * HOUR, "2025-10-27 09:00 +01:00"),
            ("two weeks across spring forward", &f.office, "2025-03-24 08:00 +01:00", 80 * HOUR, "2025-04-04 17:00 +02:00"),
            ("new york spring forward over the weekend", &f.new_york, "2025-03-07 17:00 -05:00", 2 * HOUR, "2025-03-10 09:00 -04:00"),
            ("new york fall back over the weekend", &f.new_york, "2025-10-31 17:30 -04:00", HOUR, "2025-11-03 08:30 -05:00"),
            ("24x7 utc is the wall clock", &f.always_open, "2025-01-01 00:00 +00:00", 1000 * DAY, "2027-09-28 00:00 +00:00"),
            ("24x7 berlin spring day", &f.berlin_24x7, "2025-03-29 12:00 +01:00", 24 * HOUR, "2025-03-30 13:00 +02:00"),
            ("24x7 berlin fall day", &f.berlin_24x7, "2025-10-25 12:00 +02:00", 24 * HOUR, "2025-10-26 11:00 +01:00"),
            ("24x7 berlin in the repeated hour", &f.berlin_24x7, "2025-10-26 02:30 +02:00", HOUR, "2025-10-26 02:30 +01:00"),
            ("24x7 new york spring day", &f.new_york_24x7, "2025-03-08 12:00 -05:00", 24 * HOUR, "2025-03-09 13:00 -04:00"),
            ("24x7 new york fall day", &f.new_york_24x7, "2025-11-01 12:00 -04:00", 24 * HOUR, "2025-11-02 11:00 -05:00"),
            ("24x7 samoa skips a day", &f.apia_24x7, "2011-12-29 12:00 -10:00", 24 * HOUR, "2011-12-31 12:00 +14:00"),
            ("24x7 chile spring forward at midnight", &f.santiago_24x7, "2025-09-06 12:00 -04:00", 24 * HOUR, "2025-09-07 13:00 -03:00"),
            ("sunday night, spring: opens at 01:00", &f.berlin_sunday_night, "2025-03-30 00:00 +01:00", 0, "2025-03-30 01:00 +01:00"),
            ("sunday night, spring: an hour jumps the gap", &f.berlin_sunday_night, "2025-03-30 00:00 +01:00", HOUR, "2025-03-30 03:00 +02:00"),
            ("sunday night, spring: two hours that day", &f.berlin_sunday_night, "2025-03-30 00:00 +01:00", 2 * HOUR, "2025-03-30 04:00 +02:00"),
            ("sunday night, spring: then next sunday", &f.berlin_sunday_night, "2025-03-30 00:00 +01:00", 2 * HOUR + 1, "2025-04-06 01:00:01 +02:00"),
            ("sunday night, fall: four hours that day", &f.berlin_sunday_night, "2025-10-26 00:00 +02:00", 4 * HOUR, "2025-10-26 04:00 +01:00"),
            ("sunday night, fall: second 02:30", &f.berlin_sunday_night, "2025-10-26 02:30 +01:00", HOUR, "2025-10-26 03:30 +01:00"),
            ("opening in the gap opens when it ends", &f.berlin_sunday_from_gap, "2025-03-30 00:00 +01:00", 0, "2025-03-30 03:00 +02:00"),
            ("opening in the gap, two hours", &f.berlin_sunday_from_gap, "2025-03-30 00:00 +01:00", 2 * HOUR, "2025-03-30 05:00 +02:00"),
            ("ambiguous opening is the earlier", &f.berlin_sunday_from_gap, "2025-10-26 00:00 +02:00", 0, "2025-10-26 02:30 +02:00"),
            ("ambiguous opening, three and a half hours", &f.berlin_sunday_from_gap, "2025-10-26 00:00 +02:00", 3 * HOUR + 30 * MINUTE, "2025-10-26 05:00 +01:00"),
            ("hours lost in the gap are skipped", &f.berlin_sunday_gap_only, "2025-03-29 12:00 +01:00", 0, "2025-04-06 02:00 +02:00"),
            ("hours in the overlap count twice", &f.berlin_sunday_gap_only, "2025-10-25 12:00 +02:00", 2 * HOUR, "2025-10-26 03:00 +01:00"),
        ];
        let mut failures = Vec::new();
        for &(name, calendar, start, secs, expected) in cases {
            let (start, expected) = (at(start), at(expected));
            let actual = calendar.add_business_time(start, secs);
            if actual != expected {
                failures.push(format!("{name}: expected {expected}, got {actual}"));
            }
            let back = calendar.business_seconds_between(start, expected);
            if back != secs {
                failures.push(format!("{name}: {back} business seconds back, not {secs}"));
            }
        }
        report(failures);
    }

    #[test]
    fn business_seconds_between_cases() {
        let f = fixtures();
        #[rustfmt::skip]
        let cases: &[(&str, &BusinessCalendar, &str, &str, i64)] = &[
            // name, calendar, from, to, expected business seconds
            ("a week", &f.office, "2025-02-03 00:00 +01:00", "2025-02-10 00:00 +01:00", 40 * HOUR),
            ("across lunch", &f.office, "2025-02-03 10:00 +01:00", "2025-02-03 14:00 +01:00", 3 * HOUR),
            ("within lunch", &f.office, "2025-02-03 12:10 +01:00", "2025-02-03 12:50 +01:00", 0),
            ("backwards", &f.office, "2025-02-03 14:00 +01:00", "2025-02-03 10:00 +01:00", 0),
            ("empty", &f.office, "2025-02-03 10:00 +01:00", "2025-02-03 10:00 +01:00", 0),
            ("a weekend", &f.office, "2025-02-07 17:00 +01:00", "2025-02-10 08:00 +01:00", 0),
            ("a holiday", &f.office, "2025-12-25 00:00 +01:00", "2025-12-26 00:00 +01:00", 0),
            ("the year 2025, 261 weekdays less 4 holidays", &f.office, "2025-01-01 00:00 +01:00", "2026-01-01 00:00 +01:00", 257 * 8 * HOUR),
            ("new york weekend with spring forward", &f.new_york, "2025-03-07 17:00 -05:00", "2025-03-10 09:00 -04:00", 2 * HOUR),
            ("berlin spring day has 23 hours", &f.berlin_24x7, "2025-03-30 00:00 +01:00", "2025-03-31 00:00 +02:00", 23 * HOUR),
            ("berlin fall day has 25 hours", &f.berlin_24x7, "2025-10-26 00:00 +02:00", "2025-10-27 00:00 +01:00", 25 * HOUR),
            ("new york spring day has 23 hours", &f.new_york_24x7, "2025-03-09 00:00 -05:00", "2025-03-10 00:00 -04:00", 23 * HOUR),
            ("new york fall day has 25 hours", &f.new_york_24x7, "2025-11-02 00:00 -04:00", "2025-11-03 00:00 -05:00", 25 * HOUR),
            ("sunday night across the gap", &f.berlin_sunday_night, "2025-03-29 00:00 +01:00", "2025-03-31 00:00 +02:00", 2 * HOUR),
            ("sunday night across the overlap", &f.berlin_sunday_night, "2025-10-25 00:00 +02:00", "2025-10-27 00:00 +01:00", 4 * HOUR),
            ("opening in the gap", &f.berlin_sunday_from_gap, "2025-03-29 00:00 +01:00", "2025-03-31 00:00 +02:00", 2 * HOUR),
            ("opening in the overlap", &f.berlin_sunday_from_gap, "2025-10-25 00:00 +02:00", "2025-10-27 00:00 +01:00", 3 * HOUR + 30 * MINUTE),
            ("hours inside the gap", &f.berlin_sunday_gap_only, "2025-03-29 00:00 +01:00", "2025-03-31 00:00 +02:00", 0),
            ("hours inside the overlap", &f.berlin_sunday_gap_only, "2025-10-25 00:00 +02:00", "2025-10-27 00:00 +01:00", 2 * HOUR),
            ("only the first repeated hour", &f.berlin_sunday_gap_only, "2025-10-26 00:00 +02:00", "2025-10-26 02:00 +01:00", HOUR),
            ("samoa skipped day", &f.apia_24x7, "2011-12-29 00:00 -10:00", "2011-12-31 00:00 +14:00", 24 * HOUR),
            ("samoa around the skipped day", &f.apia_24x7, "2011-12-29 00:00 -10:00", "2012-01-01 00:00 +14:00", 48 * HOUR),
            ("chile weeks around a midnight spring forward", &f.santiago_24x7, "2025-09-06 00:00 -04:00", "2025-09-21 00:00 -03:00", 15 * DAY - HOUR),
            ("recife sundays around a one-week summer time", &f.recife_sundays, "2000-10-01 00:00 +00:00", "2000-10-31 00:00 +00:00", 4 * DAY + 23 * HOUR),
        ];
        let mut failures = Vec::new();
        for &(name, calendar, from, to, expected) in cases {
            let actual = calendar.business_seconds_between(at(from), at(to));
            if actual != expected {
                failures.push(format!("{name}: expected {expected} s, got {actual} s"));
            }
        }
        report(failures);
    }

    /// A tiny deterministic generator, so the property checks need no extra dependency and
    /// fail the same way every run.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, bound: i64) -> i64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % bound as u64) as i64
        }
    }

    fn property_calendars() -> Vec<(&'static str, BusinessCalendar, DateTime<Utc>)> {
        let f = fixtures();
        let night_owl = "00:00-04:00 20:00-22:00";
        vec![
            ("office", f.office, at("2024-06-01 00:00 +00:00")),
            ("new york", f.new_york, at("2024-06-01 00:00 +00:00")),
            ("always open", f.always_open, at("2024-06-01 00:00 +00:00")),
            ("berlin 24x7", f.berlin_24x7, at("2024-06-01 00:00 +00:00")),
            ("samoa 24x7", f.apia_24x7, at("2010-06-01 00:00 +00:00")),
            ("chile 24x7", f.santiago_24x7, at("2024-06-01 00:00 +00:00")),
            (
                "recife sundays",
                f.recife_sundays,
                at("1999-06-01 00:00 +00:00"),
            ),
            (
                "berlin sunday night",
                f.berlin_sunday_night,
                at("2024-06-01 00:00 +00:00"),
            ),
            (
                "berlin from gap",
                f.berlin_sunday_from_gap,
                at("2024-06-01 00:00 +00:00"),
            ),
            (
                "berlin gap only",
                f.berlin_sunday_gap_only,
                at("2024-06-01 00:00 +00:00"),
            ),
            (
                "new york night owl",
                every_day(America::New_York, night_owl),
                at("2024-06-01 00:00 +00:00"),
            ),
            (
                "gaza night owl",
                every_day(Asia::Gaza, night_owl),
                at("2039-06-01 00:00 +00:00"),
            ),
            (
                "recife night owl",
                every_day(America::Recife, night_owl),
                at("1999-06-01 00:00 +00:00"),
            ),
        ]
    }

    #[test]
    fn business_seconds_between_undoes_add_business_time() {
        let mut random = Lcg(42);
        let mut failures = Vec::new();
        for (name, calendar, base) in property_calendars() {
            for _ in 0..300 {
                let start = base + TimeDelta::seconds(random.below(3 * 365 * DAY));
                let secs = match random.below(4) {
                    0 => 0,
                    1 => random.below(HOUR),
                    2 => random.below(3 * DAY),
                    _ => random.below(8 * 7 * DAY),
                };
                let end = calendar.add_business_time(start, secs);
                let back = calendar.business_seconds_between(start, end);
                if end < start || back != secs {
                    failures.push(format!("{name}: {start} + {secs} s = {end}, back {back} s"));
                }
                // The answer is the earliest such instant: open just before it, or (for no
                // time at all) open just after it.
                let (probe_from, probe_to) = if secs > 0 {
                    (end - TimeDelta::seconds(1), end)
                } else {
                    (end, end + TimeDelta::seconds(1))
                };
                if calendar.business_seconds_between(probe_from, probe_to) != 1 {
                    failures.push(format!(
                        "{name}: {start} + {secs} s = {end}, not an opening edge"
                    ));
                }
            }
        }
        report(failures);
    }

    /// Week skipping must agree with walking every day: slices of 61 hours are too short to
    /// skip anything.
    #[test]
    fn long_ranges_add_up_from_short_slices() {
        let mut failures = Vec::new();
        for (name, calendar, base) in property_calendars() {
            let to = base + TimeDelta::days(2 * 365);
            let mut sliced = 0;
            let mut from = base;
            while from < to {
                let next = (from + TimeDelta::hours(61)).min(to);
                sliced += calendar.business_seconds_between(from, next);
                from = next;
            }
            let whole = calendar.business_seconds_between(base, to);
            if whole != sliced {
                failures.push(format!("{name}: {whole} s in one go, {sliced} s in slices"));
            }
        }
        report(failures);
    }

    #[test]
    fn around_the_clock_calendars_are_wall_clock_arithmetic() {
        let f = fixtures();
        let mut random = Lcg(7);
        let calendars = [
            &f.always_open,
            &f.berlin_24x7,
            &f.new_york_24x7,
            &f.apia_24x7,
            &f.santiago_24x7,
        ];
        for calendar in calendars {
            for _ in 0..200 {
                let start = at("2010-01-01 00:00 +00:00")
                    + TimeDelta::seconds(random.below(20 * 365 * DAY));
                let secs = random.below(60 * DAY);
                let end = start + TimeDelta::seconds(secs);
                assert_eq!(calendar.add_business_time(start, secs), end, "{calendar:?}");
                assert_eq!(calendar.business_seconds_between(start, end), secs);
            }
        }
        // Ranges of centuries stay cheap because regular weeks are counted, not walked.
        let (from, to) = (at("1600-01-01 00:00 +00:00"), at("2400-01-01 00:00 +00:00"));
        let wall_clock = (to - from).num_seconds();
        assert_eq!(f.always_open.business_seconds_between(from, to), wall_clock);
        assert_eq!(f.berlin_24x7.business_seconds_between(from, to), wall_clock);
        assert_eq!(
            f.new_york_24x7.business_seconds_between(from, to),
            wall_clock
        );
    }

    #[test]
    fn calendars_that_never_open_give_a_far_future_instead_of_looping() {
        let start = at("2025-02-03 10:00 +01:00");
        let far_future = at("2125-02-03 10:00 +01:00");
        let everything_a_holiday = BusinessCalendar {
            holidays: (0..400)
                .map(|day| date("2025-02-01") + Days::new(day))
                .collect(),
            ..office()
        };
        #[rustfmt::skip]
        let cases: &[(&str, BusinessCalendar, i64, DateTime<Utc>)] = &[
            ("no hours, nothing to add", never_open(), 0, far_future),
            ("no hours", never_open(), HOUR, far_future),
            ("no weekly hours at all", BusinessCalendar { weekly_hours: Vec::new(), ..office() }, HOUR, far_future),
            ("only empty intervals", calendar(Europe::Berlin, ["08:00-08:00"; 7], &[]), HOUR, far_future),
            ("more than a century of business time", office(), i64::MAX, far_future),
            ("negative counts as nothing", office(), -HOUR, start),
            ("a year of holidays is walked, not skipped", everything_a_holiday, HOUR, at("2026-03-09 09:00 +01:00")),
        ];
        for (name, calendar, secs, expected) in cases {
            assert_eq!(
                calendar.add_business_time(start, *secs),
                *expected,
                "{name}"
            );
        }
        let end = at("2225-01-01 00:00 +00:00");
        assert_eq!(never_open().business_seconds_between(start, end), 0);
    }

    #[test]
    fn no_overflow_at_the_ends_of_time() {
        let (first, last) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        let month = TimeDelta::days(30);
        let f = fixtures();
        for calendar in [&f.always_open, &f.berlin_24x7, &f.office, &never_open()] {
            assert_eq!(calendar.add_business_time(last, HOUR), last);
            assert_eq!(calendar.add_business_time(last - month, 40 * DAY), last);
            assert!(calendar.add_business_time(last - month, DAY) <= last);
            assert!(calendar.add_business_time(first, DAY) > first);
            assert!(calendar.business_seconds_between(last - month, last) <= month.num_seconds());
            assert!(calendar.business_seconds_between(first, first + month) <= month.num_seconds());
        }
        // The very last day has no representable end; losing it is the price of not panicking.
        let near_the_end = f.always_open.business_seconds_between(last - month, last);
        assert!(near_the_end >= (month - TimeDelta::days(1)).num_seconds());
    }

    #[test]
    fn unvalidated_calendars_neither_panic_nor_double_count() {
        let mut overlapping = calendar(
            Europe::Berlin,
            ["10:00-14:00 08:00-12:00", "", "", "", "", "", ""],
            &[],
        );
        // An eighth day has no weekday to belong to.
        overlapping
            .weekly_hours
            .push(office().weekly_hours[0].clone());
        let monday = at("2025-02-03 00:00 +01:00");
        assert_eq!(
            overlapping.business_seconds_between(monday, monday + TimeDelta::days(7)),
            6 * HOUR
        );
        let past_midnight = BusinessCalendar {
            weekly_hours: vec![vec![OpeningInterval {
                start: LocalTime::hm(22, 0),
                end: LocalTime(2000),
            }]],
            ..office()
        };
        assert_eq!(
            past_midnight.add_business_time(monday, 3 * HOUR),
            at("2025-02-10 23:00 +01:00")
        );
    }

    #[derive(Clone, Copy)]
    enum Step {
        Start(i64, &'static str),
        Pause(&'static str),
        Resume(&'static str),
        Stop(&'static str),
        Restart(&'static str),
        Retarget(i64, &'static str),
        /// At an instant: elapsed business seconds, state, `due_at`, `at_risk_at`.
        Expect(
            &'static str,
            i64,
            SlaState,
            Option<&'static str>,
            Option<&'static str>,
        ),
    }

    fn running(timer: &mut Option<SlaTimer>) -> &mut SlaTimer {
        timer.as_mut().expect("a script begins with Start")
    }

    #[test]
    fn timer_scripts() {
        use SlaState::*;
        use Step::*;
        // The office: 08:00–12:00 and 13:00–17:00 Monday to Friday, Berlin; 2025-02-03 is a
        // Monday.
        #[rustfmt::skip]
        let scripts: &[(&str, &[Step])] = &[
            ("runs through a weekend", &[
                Start(4 * HOUR, "2025-02-07 16:00 +01:00"),
                Expect("2025-02-07 17:30 +01:00", HOUR, OnTrack, Some("2025-02-10 11:00 +01:00"), Some("2025-02-10 10:00 +01:00")),
                Expect("2025-02-10 09:59:59 +01:00", 3 * HOUR - 1, OnTrack, Some("2025-02-10 11:00 +01:00"), Some("2025-02-10 10:00 +01:00")),
                Expect("2025-02-10 10:00 +01:00", 3 * HOUR, AtRisk, Some("2025-02-10 11:00 +01:00"), Some("2025-02-10 10:00 +01:00")),
                Expect("2025-02-10 10:59:59 +01:00", 4 * HOUR - 1, AtRisk, Some("2025-02-10 11:00 +01:00"), Some("2025-02-10 10:00 +01:00")),
                Expect("2025-02-10 11:00 +01:00", 4 * HOUR, Breached, Some("2025-02-10 11:00 +01:00"), Some("2025-02-10 10:00 +01:00")),
            ]),
            ("paused over a weekend", &[
                Start(4 * HOUR, "2025-02-07 15:00 +01:00"),
                Pause("2025-02-07 16:00 +01:00"),
                Expect("2025-02-08 12:00 +01:00", HOUR, Paused, None, None),
                Resume("2025-02-10 09:00 +01:00"),
                Expect("2025-02-10 09:00 +01:00", HOUR, OnTrack, Some("2025-02-10 12:00 +01:00"), Some("2025-02-10 11:00 +01:00")),
                Expect("2025-02-10 11:00 +01:00", 3 * HOUR, AtRisk, Some("2025-02-10 12:00 +01:00"), Some("2025-02-10 11:00 +01:00")),
                Expect("2025-02-10 12:30 +01:00", 4 * HOUR, Breached, Some("2025-02-10 12:00 +01:00"), Some("2025-02-10 11:00 +01:00")),
            ]),
            ("paused and resumed outside opening hours consumes nothing", &[
                Start(HOUR, "2025-02-07 17:30 +01:00"),
                Pause("2025-02-08 10:00 +01:00"),
                Resume("2025-02-09 10:00 +01:00"),
                Expect("2025-02-09 20:00 +01:00", 0, OnTrack, Some("2025-02-10 09:00 +01:00"), Some("2025-02-10 08:45 +01:00")),
            ]),
            ("pausing twice keeps the first pause", &[
                Start(4 * HOUR, "2025-02-03 08:00 +01:00"),
                Pause("2025-02-03 09:00 +01:00"),
                Pause("2025-02-03 11:00 +01:00"),
                Expect("2025-02-04 12:00 +01:00", HOUR, Paused, None, None),
            ]),
            ("resuming a running timer changes nothing", &[
                Start(4 * HOUR, "2025-02-03 08:00 +01:00"),
                Resume("2025-02-03 10:00 +01:00"),
                Expect("2025-02-03 11:00 +01:00", 3 * HOUR, AtRisk, Some("2025-02-03 12:00 +01:00"), Some("2025-02-03 11:00 +01:00")),
            ]),
            ("shorter target mid-flight: breached, due in the past", &[
                Start(8 * HOUR, "2025-02-03 08:00 +01:00"),
                Expect("2025-02-03 12:00 +01:00", 4 * HOUR, OnTrack, Some("2025-02-03 17:00 +01:00"), Some("2025-02-03 15:00 +01:00")),
                Retarget(2 * HOUR, "2025-02-03 12:00 +01:00"),
                Expect("2025-02-03 12:00 +01:00", 4 * HOUR, Breached, Some("2025-02-03 10:00 +01:00"), Some("2025-02-03 09:30 +01:00")),
            ]),
            ("longer target mid-flight: back on track", &[
                Start(2 * HOUR, "2025-02-03 08:00 +01:00"),
                Expect("2025-02-03 09:45 +01:00", 105 * MINUTE, AtRisk, Some("2025-02-03 10:00 +01:00"), Some("2025-02-03 09:30 +01:00")),
                Retarget(8 * HOUR, "2025-02-03 09:45 +01:00"),
                Expect("2025-02-03 09:45 +01:00", 105 * MINUTE, OnTrack, Some("2025-02-03 17:00 +01:00"), Some("2025-02-03 15:00 +01:00")),
            ]),
            ("retarget after a pause keeps what was consumed", &[
                Start(4 * HOUR, "2025-02-03 08:00 +01:00"),
                Pause("2025-02-03 10:00 +01:00"),
                Retarget(3 * HOUR, "2025-02-03 11:00 +01:00"),
                Expect("2025-02-03 11:00 +01:00", 2 * HOUR, Paused, None, None),
                Resume("2025-02-04 08:00 +01:00"),
                Expect("2025-02-04 08:15 +01:00", 2 * HOUR + 15 * MINUTE, AtRisk, Some("2025-02-04 09:00 +01:00"), Some("2025-02-04 08:15 +01:00")),
            ]),
            ("stopped in time, reopened, stopped late", &[
                Start(4 * HOUR, "2025-02-03 08:00 +01:00"),
                Stop("2025-02-03 10:00 +01:00"),
                Expect("2025-02-05 10:00 +01:00", 2 * HOUR, Met, None, None),
                Restart("2025-02-04 08:00 +01:00"),
                Expect("2025-02-04 09:00 +01:00", 3 * HOUR, AtRisk, Some("2025-02-04 10:00 +01:00"), Some("2025-02-04 09:00 +01:00")),
                Stop("2025-02-04 11:00 +01:00"),
                Expect("2025-02-05 10:00 +01:00", 5 * HOUR, Breached, None, None),
            ]),
            ("stopping twice keeps the first stop", &[
                Start(4 * HOUR, "2025-02-03 08:00 +01:00"),
                Stop("2025-02-03 10:00 +01:00"),
                Stop("2025-02-03 16:00 +01:00"),
                Resume("2025-02-03 16:30 +01:00"),
                Pause("2025-02-03 16:45 +01:00"),
                Expect("2025-02-04 10:00 +01:00", 2 * HOUR, Met, None, None),
            ]),
            ("restarting a running timer changes nothing", &[
                Start(4 * HOUR, "2025-02-03 08:00 +01:00"),
                Restart("2025-02-03 10:00 +01:00"),
                Expect("2025-02-03 10:00 +01:00", 2 * HOUR, OnTrack, Some("2025-02-03 12:00 +01:00"), Some("2025-02-03 11:00 +01:00")),
            ]),
            ("stopped while paused", &[
                Start(4 * HOUR, "2025-02-03 08:00 +01:00"),
                Pause("2025-02-03 09:00 +01:00"),
                Stop("2025-02-05 09:00 +01:00"),
                Expect("2025-02-05 10:00 +01:00", HOUR, Met, None, None),
            ]),
            ("stopped exactly at the target is met", &[
                Start(HOUR, "2025-02-03 08:00 +01:00"),
                Stop("2025-02-03 09:00 +01:00"),
                Expect("2025-02-03 09:00 +01:00", HOUR, Met, None, None),
            ]),
            ("paused exactly at the target stays breached", &[
                Start(HOUR, "2025-02-03 08:00 +01:00"),
                Pause("2025-02-03 09:00 +01:00"),
                Expect("2025-02-03 10:00 +01:00", HOUR, Breached, None, None),
                Resume("2025-02-03 11:00 +01:00"),
                Expect("2025-02-03 11:00 +01:00", HOUR, Breached, Some("2025-02-03 11:00 +01:00"), Some("2025-02-03 11:00 +01:00")),
            ]),
            ("zero target is due at once", &[
                Start(0, "2025-02-03 10:00 +01:00"),
                Expect("2025-02-03 10:00 +01:00", 0, Breached, Some("2025-02-03 10:00 +01:00"), Some("2025-02-03 10:00 +01:00")),
                Stop("2025-02-03 10:00 +01:00"),
                Expect("2025-02-03 10:00 +01:00", 0, Met, None, None),
            ]),
            ("zero target on a saturday is due on monday", &[
                Start(0, "2025-02-08 10:00 +01:00"),
                Expect("2025-02-08 10:00 +01:00", 0, Breached, Some("2025-02-10 08:00 +01:00"), Some("2025-02-08 10:00 +01:00")),
            ]),
            ("running across spring forward", &[
                Start(2 * HOUR, "2025-03-28 16:00 +01:00"),
                Expect("2025-03-30 12:00 +02:00", HOUR, OnTrack, Some("2025-03-31 09:00 +02:00"), Some("2025-03-31 08:30 +02:00")),
                Expect("2025-03-31 08:30 +02:00", 90 * MINUTE, AtRisk, Some("2025-03-31 09:00 +02:00"), Some("2025-03-31 08:30 +02:00")),
            ]),
            ("three business days over easter", &[
                Start(24 * HOUR, "2025-04-16 12:00 +02:00"),
                Expect("2025-04-22 12:00 +02:00", 16 * HOUR, OnTrack, Some("2025-04-23 12:00 +02:00"), Some("2025-04-22 15:00 +02:00")),
            ]),
        ];
        let calendar = office();
        let mut failures = Vec::new();
        for &(name, steps) in scripts {
            let mut timer: Option<SlaTimer> = None;
            for (index, step) in steps.iter().enumerate() {
                match *step {
                    Start(target, now) => timer = Some(SlaTimer::start(target, at(now), &calendar)),
                    Pause(now) => running(&mut timer).pause(at(now), &calendar),
                    Resume(now) => running(&mut timer).resume(at(now), &calendar),
                    Stop(now) => running(&mut timer).stop(at(now), &calendar),
                    Restart(now) => running(&mut timer).restart(at(now), &calendar),
                    Retarget(target, now) => {
                        running(&mut timer).retarget(target, at(now), &calendar)
                    }
                    Expect(now, elapsed, state, due_at, at_risk_at) => {
                        let timer = running(&mut timer);
                        let now = at(now);
                        let actual = (
                            timer.elapsed_at(now, &calendar),
                            timer.state_at(now, &calendar, 75),
                            timer.due_at,
                            timer.at_risk_at(&calendar, 75),
                        );
                        let expected = (elapsed, state, due_at.map(at), at_risk_at.map(at));
                        if actual != expected {
                            failures.push(format!(
                                "{name}, step {index}: expected {expected:?}, got {actual:?}"
                            ));
                        }
                    }
                }
            }
        }
        report(failures);
    }

    /// The at-risk instant and the state agree to the second, whatever the rounding.
    #[test]
    fn at_risk_threshold_boundaries() {
        let calendar = office();
        let start = at("2025-02-03 08:00 +01:00");
        let mut failures = Vec::new();
        for target in [1, 2, 3, 4, 99, 100, 101, 133, 3599, 4 * HOUR, 24 * HOUR + 7] {
            for percent in [1, 50, 75, 99] {
                let timer = SlaTimer::start(target, start, &calendar);
                let risky = timer.at_risk_at(&calendar, percent).unwrap();
                let elapsed = timer.elapsed_at(risky, &calendar);
                let state = timer.state_at(risky, &calendar, percent);
                let before = timer.state_at(risky - TimeDelta::seconds(1), &calendar, percent);
                let expected = if elapsed >= target {
                    SlaState::Breached
                } else {
                    SlaState::AtRisk
                };
                let exact = elapsed * 100 >= target * i64::from(percent)
                    && (elapsed - 1) * 100 < target * i64::from(percent);
                if state != expected || before != SlaState::OnTrack || !exact {
                    failures.push(format!(
                        "target {target} s at {percent} %: at risk at {risky} after {elapsed} s, \
                         {state:?}, before {before:?}"
                    ));
                }
            }
        }
        report(failures);
        let paused = {
            let mut timer = SlaTimer::start(HOUR, start, &calendar);
            timer.pause(start + TimeDelta::minutes(10), &calendar);
            timer
        };
        assert_eq!(paused.at_risk_at(&calendar, 75), None);
    }

    #[test]
    fn standard_settings() {
        let settings = SlaSettings::standard(Europe::Berlin);
        assert_eq!(settings.validate(), Ok(()));
        assert_eq!(settings.at_risk_percent, 75);
        assert!(settings.auto_escalate_on_breach);
        assert_eq!(
            settings.calendar,
            BusinessCalendar::weekdays(Europe::Berlin, LocalTime::hm(8, 0), LocalTime::hm(18, 0))
        );
        let priorities = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];
        let kinds = [
            UserKind::BusinessCustomer,
            UserKind::InternalStaff,
            UserKind::PrivateCustomer,
        ];
        assert_eq!(settings.policies.len(), priorities.len() * kinds.len());
        for priority in priorities {
            let targets: Vec<(u32, u32)> = kinds
                .iter()
                .map(|&kind| {
                    let policy = settings.policy_for(priority, kind).unwrap();
                    (policy.first_response_minutes, policy.resolution_minutes)
                })
                .collect();
            // Business customers get the tightest targets, private customers the loosest.
            assert!(
                targets
                    .windows(2)
                    .all(|pair| pair[0].0 <= pair[1].0 && pair[0].1 <= pair[1].1),
                "{priority:?}: {targets:?}"
            );
        }
        for kind in kinds {
            let targets: Vec<(u32, u32)> = priorities
                .iter()
                .map(|&priority| {
                    let policy = settings.policy_for(priority, kind).unwrap();
                    (policy.first_response_minutes, policy.resolution_minutes)
                })
                .collect();
            assert!(
                targets
                    .windows(2)
                    .all(|pair| pair[0].0 <= pair[1].0 && pair[0].1 <= pair[1].1),
                "{kind:?}: {targets:?}"
            );
        }
        let internal_p1 = settings
            .policy_for(Priority::P1, UserKind::InternalStaff)
            .unwrap();
        assert_eq!(
            (
                internal_p1.first_response_minutes,
                internal_p1.resolution_minutes
            ),
            (30, 240)
        );
    }

    fn fields(result: Result<(), ValidationErrors>) -> Vec<String> {
        match result {
            Ok(()) => Vec::new(),
            Err(errors) => errors.0.into_iter().map(|error| error.field).collect(),
        }
    }

    #[test]
    fn calendar_validation() {
        let interval = |start: u16, end: u16| OpeningInterval {
            start: LocalTime(start),
            end: LocalTime(end),
        };
        let with_monday = |monday: Vec<OpeningInterval>| {
            let mut calendar = office();
            calendar.weekly_hours[0] = monday;
            calendar
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, BusinessCalendar, &str, Vec<&str>)> = vec![
            ("office", office(), "calendar", vec![]),
            ("always open", BusinessCalendar::always_open(), "", vec![]),
            ("touching intervals", with_monday(vec![interval(480, 720), interval(720, 780)]), "", vec![]),
            ("six days", BusinessCalendar { weekly_hours: office().weekly_hours[..6].to_vec(), ..office() }, "calendar", vec!["calendar.weeklyHours"]),
            ("empty", BusinessCalendar { weekly_hours: Vec::new(), ..office() }, "calendar", vec!["calendar.weeklyHours"]),
            ("never open", never_open(), "calendar", vec!["calendar.weeklyHours"]),
            ("never open, no prefix", never_open(), "", vec!["weeklyHours"]),
            ("end before start", with_monday(vec![interval(600, 540)]), "calendar", vec!["calendar.weeklyHours[0][0].end"]),
            ("empty interval", with_monday(vec![interval(600, 600)]), "", vec!["weeklyHours[0][0].end"]),
            ("past midnight", with_monday(vec![interval(1380, 1441)]), "", vec!["weeklyHours[0][0].end"]),
            ("starts past midnight", with_monday(vec![interval(1500, 1560)]), "", vec!["weeklyHours[0][0].start", "weeklyHours[0][0].end"]),
            ("overlapping", with_monday(vec![interval(480, 720), interval(700, 900)]), "calendar", vec!["calendar.weeklyHours[0][1].start"]),
            ("unsorted", with_monday(vec![interval(780, 1020), interval(480, 720)]), "calendar", vec!["calendar.weeklyHours[0][1].start"]),
            ("wednesday", {
                let mut calendar = office();
                calendar.weekly_hours[2] = vec![interval(480, 720), interval(780, 1441)];
                calendar
            }, "settings.calendar", vec!["settings.calendar.weeklyHours[2][1].end"]),
        ];
        let mut failures = Vec::new();
        for (name, calendar, prefix, expected) in cases {
            let mut errors = ValidationErrors::default();
            calendar.validate(&mut errors, prefix);
            let actual = fields(errors.into_result());
            if actual != expected {
                failures.push(format!("{name}: expected {expected:?}, got {actual:?}"));
            }
        }
        report(failures);
    }

    #[test]
    fn settings_validation() {
        let standard = || SlaSettings::standard(Europe::Berlin);
        let with = |change: fn(&mut SlaSettings)| {
            let mut settings = standard();
            change(&mut settings);
            settings
        };
        #[rustfmt::skip]
        let cases: Vec<(&str, SlaSettings, Vec<&str>)> = vec![
            ("standard", standard(), vec![]),
            ("a partial table is fine", with(|s| s.policies.truncate(3)), vec![]),
            ("equal first response and resolution", with(|s| s.policies[3].first_response_minutes = s.policies[3].resolution_minutes), vec![]),
            ("zero resolution", with(|s| s.policies[3].resolution_minutes = 0), vec!["policies[3].resolutionMinutes"]),
            ("zero first response", with(|s| s.policies[0].first_response_minutes = 0), vec!["policies[0].firstResponseMinutes"]),
            ("first response after resolution", with(|s| s.policies[3].first_response_minutes = 10_000), vec!["policies[3].resolutionMinutes"]),
            ("duplicate", with(|s| s.policies.push(s.policies[4].clone())), vec!["policies[12]"]),
            ("at risk 0", with(|s| s.at_risk_percent = 0), vec!["atRiskPercent"]),
            ("at risk 100", with(|s| s.at_risk_percent = 100), vec!["atRiskPercent"]),
            ("at risk 1 and 99", with(|s| s.at_risk_percent = 1), vec![]),
            ("at risk 99", with(|s| s.at_risk_percent = 99), vec![]),
            ("bad calendar", with(|s| s.calendar.weekly_hours[4][0].end = LocalTime(300)), vec!["calendar.weeklyHours[4][0].end"]),
        ];
        let mut failures = Vec::new();
        for (name, settings, expected) in cases {
            let actual = fields(settings.validate());
            if actual != expected {
                failures.push(format!("{name}: expected {expected:?}, got {actual:?}"));
            }
        }
        report(failures);
    }

    #[test]
    fn local_time_json() {
        for (minutes, text) in [
            (0, "00:00"),
            (1, "00:01"),
            (510, "08:30"),
            (1439, "23:59"),
            (1440, "24:00"),
        ] {
            let json = format!("\"{text}\"");
            assert_eq!(serde_json::to_string(&LocalTime(minutes)).unwrap(), json);
            assert_eq!(
                serde_json::from_str::<LocalTime>(&json).unwrap(),
                LocalTime(minutes)
            );
        }
        for bad in [
            "\"24:01\"",
            "\"25:00\"",
            "\"08:60\"",
            "\"8:00\"",
            "\"0800\"",
            "\"08:00:00\"",
            "\"\"",
            "\"ab:cd\"",
            "\" 08:00\"",
            "\"+8:00\"",
            "\"08:-1\"",
            "480",
            "null",
        ] {
            let error = serde_json::from_str::<LocalTime>(bad)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("a time of day \"HH:MM\" between \"00:00\" and \"24:00\""),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn calendar_json() {
        let mut calendar =
            BusinessCalendar::weekdays(Europe::Berlin, LocalTime::hm(8, 0), LocalTime::hm(18, 0));
        calendar.weekly_hours[4] = vec![
            OpeningInterval {
                start: LocalTime::hm(8, 0),
                end: LocalTime::hm(12, 0),
            },
            OpeningInterval {
                start: LocalTime::hm(13, 0),
                end: LocalTime::END_OF_DAY,
            },
        ];
        calendar.holidays = [date("2025-12-26"), date("2025-12-25")].into();
        let day = r#"[{"start":"08:00","end":"18:00"}]"#;
        let expected = format!(
            r#"{{"timeZone":"Europe/Berlin","weeklyHours":[{day},{day},{day},{day},[{{"start":"08:00","end":"12:00"}},{{"start":"13:00","end":"24:00"}}],[],[]],"holidays":["2025-12-25","2025-12-26"]}}"#
        );
        let json = serde_json::to_string(&calendar).unwrap();
        assert_eq!(json, expected);
        assert_eq!(
            serde_json::from_str::<BusinessCalendar>(&json).unwrap(),
            calendar
        );

        let always_open = BusinessCalendar::always_open();
        let json = serde_json::to_string(&always_open).unwrap();
        assert!(
            json.starts_with(
                r#"{"timeZone":"UTC","weeklyHours":[[{"start":"00:00","end":"24:00"}]"#
            )
        );
        assert_eq!(
            serde_json::from_str::<BusinessCalendar>(&json).unwrap(),
            always_open
        );

        for (bad, complaint) in [
            (
                r#"{"timeZone":"Mars/Olympus","weeklyHours":[],"holidays":[]}"#,
                "Mars/Olympus",
            ),
            (
                r#"{"timeZone":"UTC","weeklyHours":[[{"start":"08:00","end":"24:30"}]],"holidays":[]}"#,
                "24:30",
            ),
            (
                r#"{"timeZone":"UTC","weeklyHours":[],"holidays":["2025-13-01"]}"#,
                "input is out of range",
            ),
        ] {
            let error = serde_json::from_str::<BusinessCalendar>(bad)
                .unwrap_err()
                .to_string();
            assert!(error.contains(complaint), "{bad}: {error}");
        }
    }

    #[test]
    fn settings_and_timer_json_are_camel_case() {
        let settings = SlaSettings::standard(America::New_York);
        let json = serde_json::to_value(&settings).unwrap();
        assert_eq!(json["atRiskPercent"], 75);
        assert_eq!(json["autoEscalateOnBreach"], true);
        assert_eq!(json["policies"][0]["firstResponseMinutes"], 30);
        assert_eq!(json["policies"][0]["userKind"], "internal_staff");
        assert_eq!(
            serde_json::from_value::<SlaSettings>(json).unwrap(),
            settings
        );

        let timer = SlaTimer::start(HOUR, at("2025-02-03 08:00 +01:00"), &office());
        let json = serde_json::to_value(&timer).unwrap();
        assert_eq!(json["targetSecs"], 3600);
        assert_eq!(json["dueAt"], "2025-02-03T08:00:00Z");
        assert_eq!(serde_json::from_value::<SlaTimer>(json).unwrap(), timer);
    }
}
