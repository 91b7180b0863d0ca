//! The plant's calendar (R-TYPES' grade raise): its time zone, weekly rest days, public
//! holidays, the rest days it works instead (调休), and its night hours.
//!
//! GB 30871 raises hot work on holidays, rest days and at night by one grade. Which of those a
//! planned window touches is a pure function of the window, the calendar and the zone, so every
//! device and the server answer the same; the calendar itself is registry data, written only by
//! the server.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Which part of the calendar a planned window touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarCondition {
    /// A public holiday (法定节假日).
    Holiday,
    /// A weekly rest day (公休日) the plant does not work instead.
    RestDay,
    /// The plant's night hours (夜间).
    Night,
}

/// The plant's working calendar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlantCalendar {
    /// Weekly rest days as ISO weekday numbers: 1 = Monday … 7 = Sunday.
    pub rest_weekdays: Vec<u8>,
    /// Public holidays, as plant dates.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    /// Rest days worked instead of a holiday (调休上班): not rest days that year.
    #[serde(default)]
    pub working_days: Vec<NaiveDate>,
    /// Night runs from `night_start` to `night_end` (the next morning when it is earlier).
    /// Equal times: the plant has no night hours.
    pub night_start: NaiveTime,
    pub night_end: NaiveTime,
}

impl Default for PlantCalendar {
    /// Saturday and Sunday off, no holidays entered yet, night from 22:00 to 06:00 (the night
    /// of China's labour and noise rules; a plant sets its own).
    fn default() -> Self {
        PlantCalendar {
            rest_weekdays: vec![6, 7],
            holidays: vec![],
            working_days: vec![],
            night_start: NaiveTime::from_hms_opt(22, 0, 0).unwrap_or_default(),
            night_end: NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default(),
        }
    }
}

/// The longest stretch of days looked at: no permit is planned longer (the longest cap is
/// days, not months), and a forged window of centuries costs no more than this.
const MAX_DAYS: i64 = 400;

impl PlantCalendar {
    /// What is wrong with the calendar: a weekday outside 1–7. Empty = fine.
    pub fn problems(&self) -> Vec<String> {
        self.rest_weekdays
            .iter()
            .filter(|d| !(1..=7).contains(*d))
            .map(|d| format!("rest weekday {d} is not 1 (Monday) to 7 (Sunday)"))
            .collect()
    }

    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// A weekly rest day that is not worked instead. (A holiday is a holiday, whatever weekday.)
    pub fn is_rest_day(&self, date: NaiveDate) -> bool {
        let weekday = date.weekday().number_from_monday() as u8;
        self.rest_weekdays.contains(&weekday) && !self.working_days.contains(&date)
    }

    fn has_night(&self) -> bool {
        self.night_start != self.night_end
    }

    /// The calendar conditions the window [start, end) touches, in the plant's zone, each once,
    /// sorted. Touching means overlapping by any instant: a window that ends at 22:00 sharp is
    /// not at night, one that ends a minute later is.
    pub fn conditions(&self, zone: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<CalendarCondition> {
        let mut found = Vec::new();
        if end <= start {
            return found;
        }
        let overlaps = |from: DateTime<Utc>, to: DateTime<Utc>| from < end && start < to;
        let first = start.with_timezone(&zone).date_naive();
        let last = (end - Duration::milliseconds(1)).with_timezone(&zone).date_naive();
        // The day before the first: its night may run into the window's morning.
        let mut day = first - Duration::days(1);
        let mut seen = 0;
        while day <= last && seen < MAX_DAYS && found.len() < 3 {
            let next = day + Duration::days(1);
            let whole_day = overlaps(local(zone, day, NaiveTime::MIN), local(zone, next, NaiveTime::MIN));
            if whole_day && self.is_holiday(day) {
                push_once(&mut found, CalendarCondition::Holiday);
            }
            if whole_day && self.is_rest_day(day) {
                push_once(&mut found, CalendarCondition::RestDay);
            }
            if self.has_night() {
                let night_end_day = if self.night_end < self.night_start { next } else { day };
                if overlaps(local(zone, day, self.night_start), local(zone, night_end_day, self.night_end)) {
                    push_once(&mut found, CalendarCondition::Night);
                }
            }
            day = next;
            seen += 1;
        }
        found.sort();
        found
    }
}

fn push_once(found: &mut Vec<CalendarCondition>, c: CalendarCondition) {
    if !found.contains(&c) {
        found.push(c);
    }
}

/// The instant of a plant date and time. A time the clocks skip (a daylight-saving gap) is
/// taken an hour later; a time they repeat, at its first occurrence.
fn local(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(date, time);
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(naive + Duration::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive))
}

/// The first instant of plant date `date` (its midnight in `zone`), Unix ms.
pub fn day_start_ms(zone: Tz, date: NaiveDate) -> i64 {
    local(zone, date, NaiveTime::MIN).timestamp_millis()
}

/// The plant date of instant `ms` in `zone`.
pub fn plant_date(zone: Tz, ms: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.with_timezone(&zone).date_naive())
}

/// The zone of an IANA name, if the built-in database knows it.
pub fn zone(name: &str) -> Option<Tz> {
    Tz::from_str(name.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use CalendarCondition::*;

    fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        local(
            chrono_tz::Asia::Shanghai,
            NaiveDate::from_ymd_opt(y, m, d).expect("date"),
            NaiveTime::from_hms_opt(h, min, 0).expect("time"),
        )
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn plant() -> PlantCalendar {
        PlantCalendar {
            holidays: vec![date(2027, 1, 1)],
            // Sunday 2027-01-03 worked instead.
            working_days: vec![date(2027, 1, 3)],
            ..PlantCalendar::default()
        }
    }

    #[test]
    fn a_weekday_in_daytime_touches_nothing_and_the_night_begins_at_its_first_minute() {
        let c = plant();
        let z = chrono_tz::Asia::Shanghai;
        // Tuesday 2026-12-01.
        assert_eq!(c.conditions(z, shanghai(2026, 12, 1, 8, 0), shanghai(2026, 12, 1, 16, 0)), vec![]);
        assert_eq!(
            c.conditions(z, shanghai(2026, 12, 1, 14, 0), shanghai(2026, 12, 1, 22, 0)),
            vec![],
            "ends at 22:00 sharp"
        );
        assert_eq!(c.conditions(z, shanghai(2026, 12, 1, 14, 0), shanghai(2026, 12, 1, 22, 1)), vec![Night]);
        assert_eq!(
            c.conditions(z, shanghai(2026, 12, 1, 6, 0), shanghai(2026, 12, 1, 9, 0)),
            vec![],
            "starts at 06:00 sharp"
        );
        assert_eq!(
            c.conditions(z, shanghai(2026, 12, 1, 5, 59), shanghai(2026, 12, 1, 9, 0)),
            vec![Night],
            "the night before runs to 06:00"
        );
    }

    #[test]
    fn rest_days_holidays_and_worked_rest_days_are_plant_dates() {
        let c = plant();
        let z = chrono_tz::Asia::Shanghai;
        // Saturday 2026-12-05, daytime.
        assert_eq!(c.conditions(z, shanghai(2026, 12, 5, 9, 0), shanghai(2026, 12, 5, 12, 0)), vec![RestDay]);
        // Friday 2027-01-01 is New Year's Day.
        assert_eq!(c.conditions(z, shanghai(2027, 1, 1, 9, 0), shanghai(2027, 1, 1, 12, 0)), vec![Holiday]);
        // Sunday 2027-01-03 is worked.
        assert_eq!(c.conditions(z, shanghai(2027, 1, 3, 9, 0), shanghai(2027, 1, 3, 12, 0)), vec![]);
        // Friday 16:00 to Saturday 10:00: the night and the rest day.
        assert_eq!(c.conditions(z, shanghai(2026, 12, 4, 16, 0), shanghai(2026, 12, 5, 10, 0)), vec![RestDay, Night]);
        // Saturday 00:00 Shanghai is Friday 16:00 UTC: the date is the plant's.
        let friday_utc_evening = Utc.with_ymd_and_hms(2026, 12, 4, 16, 30, 0).single().expect("time");
        assert_eq!(
            c.conditions(z, friday_utc_evening, friday_utc_evening + Duration::minutes(30)),
            vec![RestDay, Night]
        );
        assert_eq!(
            c.conditions(chrono_tz::UTC, friday_utc_evening, friday_utc_evening + Duration::minutes(30)),
            vec![]
        );
    }

    #[test]
    fn a_plant_without_night_hours_or_rest_days_touches_nothing_and_a_huge_window_stays_cheap() {
        let always = PlantCalendar {
            rest_weekdays: vec![],
            night_start: NaiveTime::MIN,
            night_end: NaiveTime::MIN,
            ..PlantCalendar::default()
        };
        let z = chrono_tz::Asia::Shanghai;
        assert_eq!(always.conditions(z, shanghai(2026, 12, 5, 0, 0), shanghai(2026, 12, 8, 0, 0)), vec![]);
        let c = plant();
        let start = shanghai(2026, 12, 1, 9, 0);
        assert_eq!(c.conditions(z, start, start + Duration::days(365 * 300)), vec![Holiday, RestDay, Night]);
        assert_eq!(c.conditions(z, start, start), vec![], "an empty window touches nothing");
    }

    #[test]
    fn a_night_inside_one_day_and_a_zone_with_daylight_saving() {
        // A plant whose "night" shift break is 01:00–03:00.
        let c = PlantCalendar {
            rest_weekdays: vec![],
            night_start: NaiveTime::from_hms_opt(1, 0, 0).expect("time"),
            night_end: NaiveTime::from_hms_opt(3, 0, 0).expect("time"),
            ..PlantCalendar::default()
        };
        let berlin = chrono_tz::Europe::Berlin;
        let at = |d: u32, h: u32| local(berlin, date(2027, 3, d), NaiveTime::from_hms_opt(h, 0, 0).expect("time"));
        assert_eq!(c.conditions(berlin, at(27, 3), at(27, 12)), vec![]);
        assert_eq!(c.conditions(berlin, at(27, 2), at(27, 12)), vec![Night]);
        // 2027-03-28: clocks go from 02:00 to 03:00; the night is one hour long and still there.
        assert_eq!(c.conditions(berlin, at(28, 0), at(28, 2)), vec![Night]);
        assert!(zone("Asia/Shanghai").is_some() && zone("Mars/Olympus").is_none());
    }
}
