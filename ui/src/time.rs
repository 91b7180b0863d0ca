//! Time in the UI: instants are UTC (`DateTime<Utc>`, Unix ms) everywhere in the domain, and
//! shown or typed in the browser's local zone — the plant's zone on a plant tablet.
//!
//! ptw-core never reads the clock; the UI does, through the browser (`Date.now()`), and uses
//! `js_sys::Date` for the local-zone arithmetic so the webview's zone rules apply.

use chrono::{DateTime, Utc};
use js_sys::Date;
use wasm_bindgen::JsValue;

/// Now, from the browser's clock, in Unix ms.
pub fn now_ms() -> i64 {
    Date::now() as i64
}

pub fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
}

/// The local wall-clock fields of an instant.
struct Local {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

fn local(ms: i64) -> Local {
    let d = Date::new(&JsValue::from_f64(ms as f64));
    Local {
        year: d.get_full_year(),
        month: d.get_month() + 1,
        day: d.get_date(),
        hour: d.get_hours(),
        minute: d.get_minutes(),
    }
}

/// The value of an `<input type="datetime-local">` for an instant: `YYYY-MM-DDTHH:MM`, local.
pub fn to_input_value(at: Option<DateTime<Utc>>) -> String {
    let Some(at) = at else { return String::new() };
    let l = local(at.timestamp_millis());
    format!("{:04}-{:02}-{:02}T{:02}:{:02}", l.year, l.month, l.day, l.hour, l.minute)
}

/// Reads an `<input type="datetime-local">` value (local time) as an instant.
pub fn from_input_value(value: &str) -> Option<DateTime<Utc>> {
    let fields: Vec<u32> = value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let [year, month, day, hour, minute, ..] = fields[..] else {
        return None;
    };
    // new Date(y, m, d, h, min) reads the fields in the local zone.
    let d = Date::new_with_year_month_day_hr_min(year, month as i32 - 1, day as i32, hour as i32, minute as i32);
    let ms = d.get_time();
    if ms.is_nan() {
        None
    } else {
        from_ms(ms as i64)
    }
}

/// An instant for people: `YYYY-MM-DD HH:MM`, local.
pub fn show_ms(ms: i64) -> String {
    let l = local(ms);
    format!("{:04}-{:02}-{:02} {:02}:{:02}", l.year, l.month, l.day, l.hour, l.minute)
}

pub fn show(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| show_ms(t.timestamp_millis())).unwrap_or_default()
}

/// The start of the current minute: a planned start typed into a minute-precision input.
pub fn this_minute() -> DateTime<Utc> {
    let ms = now_ms();
    from_ms(ms - ms.rem_euclid(60_000)).unwrap_or_default()
}

/// A recent instant for people: `HH:MM` if it is today (local), else `YYYY-MM-DD HH:MM`.
pub fn show_recent_ms(ms: i64, now_ms: i64) -> String {
    let (at, today) = (local(ms), local(now_ms));
    if (at.year, at.month, at.day) == (today.year, today.month, today.day) {
        format!("{:02}:{:02}", at.hour, at.minute)
    } else {
        show_ms(ms)
    }
}
