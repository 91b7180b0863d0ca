//! Time in the UI: instants are UTC (`DateTime<Utc>`, Unix ms) everywhere in the domain, and
//! shown or chosen in the plant's time zone (`PlantSettings::time_zone`, an IANA name from the
//! directory), whatever zone the tablet itself is set to: a permit planned for 08:00 means 08:00
//! at the plant on every device.
//!
//! ptw-core never reads the clock; the UI does: the browser's (`Date.now()`) set right by the
//! device's trusted time, which every sync status carries ([`set_trusted_now`]) — so a
//! countdown runs against the time events are stamped with, not a tablet clock set wrong. The zone's
//! rules come from the webview's `Intl.DateTimeFormat`, so no time-zone database is compiled
//! into the wasm. Should the webview not know the plant's zone (or before the directory is
//! read), the device's own zone is used — for showing and for choosing alike, so the two never
//! disagree.

use crate::state::AppState;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use js_sys::Date;
use leptos::prelude::*;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

const MINUTE_MS: i64 = 60_000;

thread_local! {
    /// How far the device's trusted time is ahead of the browser's clock, in ms.
    static TRUSTED_OFFSET_MS: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// Take the device's trusted time, `trusted_ms`, as read just now: from then on [`now_ms`]
/// follows it. (0: the status came from a back end that does not say.)
pub fn set_trusted_now(trusted_ms: i64) {
    if trusted_ms > 0 {
        TRUSTED_OFFSET_MS.with(|o| o.set(trusted_ms - Date::now() as i64));
    }
}

/// Now, in Unix ms: the browser's clock, set right by the device's trusted time.
pub fn now_ms() -> i64 {
    Date::now() as i64 + TRUSTED_OFFSET_MS.with(|o| o.get())
}

pub fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
}

/// A wall-clock reading at the plant: what its clocks show at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wall {
    pub date: NaiveDate,
    pub hour: u32,
    pub minute: u32,
}

impl Wall {
    /// The same wall clock on another day.
    pub fn on(self, date: NaiveDate) -> Wall {
        Wall { date, ..self }
    }
}

#[wasm_bindgen]
extern "C" {
    /// `Intl.DateTimeFormat`, bound here with a constructor that reports an unknown zone
    /// (a `RangeError`) as an error instead of a panic.
    #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
    type ZoneFormat;
    #[wasm_bindgen(catch, constructor, js_namespace = Intl, js_class = "DateTimeFormat")]
    fn new(locale: &str, options: &js_sys::Object) -> Result<ZoneFormat, JsValue>;
    #[wasm_bindgen(method, js_name = formatToParts)]
    fn format_to_parts(this: &ZoneFormat, ms: f64) -> js_sys::Array;
}

/// The zone last read from the directory, with its formatter (`None`: the webview does not
/// know it, so the device's zone is used).
struct Zone {
    name: String,
    format: Option<ZoneFormat>,
}

thread_local! {
    static ZONE: RefCell<Option<Zone>> = const { RefCell::new(None) };
}

/// The plant's zone name from the directory, when it can be read from here (inside the app's
/// reactive tree); elsewhere the one read last.
fn plant_zone_name() -> Option<String> {
    let app = use_context::<AppState>()?;
    app.directory.with_untracked(|d| d.as_ref().map(|d| d.settings.time_zone.trim().to_owned()))
}

fn zone_format(name: &str) -> Option<ZoneFormat> {
    if name.is_empty() {
        return None;
    }
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| js_sys::Reflect::set(&options, &k.into(), &v.into()).ok();
    set("timeZone", name)?;
    set("hourCycle", "h23")?;
    for field in ["year", "month", "day", "hour", "minute"] {
        set(field, "numeric")?;
    }
    ZoneFormat::new("en-US", &options).ok()
}

/// Runs `f` with the plant zone's formatter (`None`: use the device's zone).
fn with_zone<R>(f: impl FnOnce(Option<&ZoneFormat>) -> R) -> R {
    ZONE.with(|cell| {
        let mut zone = cell.borrow_mut();
        if let Some(name) = plant_zone_name() {
            if zone.as_ref().is_none_or(|z| z.name != name) {
                *zone = Some(Zone { format: zone_format(&name), name });
            }
        }
        f(zone.as_ref().and_then(|z| z.format.as_ref()))
    })
}

/// The zone times are shown in: the plant's IANA name, or empty when the device's own is used.
pub fn zone_name() -> String {
    let known = with_zone(|f| f.is_some());
    if known {
        ZONE.with(|z| z.borrow().as_ref().map(|z| z.name.clone()).unwrap_or_default())
    } else {
        String::new()
    }
}

fn wall_in(format: Option<&ZoneFormat>, ms: i64) -> Wall {
    let (mut y, mut mo, mut d, mut h, mut mi) = (1970, 1, 1, 0, 0);
    match format {
        Some(format) => {
            for part in format.format_to_parts(ms as f64).iter() {
                let get = |k: &str| js_sys::Reflect::get(&part, &k.into()).ok().and_then(|v| v.as_string());
                let (Some(kind), Some(value)) = (get("type"), get("value")) else { continue };
                let n: u32 = value.trim().parse().unwrap_or(0);
                match kind.as_str() {
                    "year" => y = n as i32,
                    "month" => mo = n,
                    "day" => d = n,
                    // Some engines still write midnight as 24 under h23.
                    "hour" => h = n % 24,
                    "minute" => mi = n,
                    _ => {}
                }
            }
        }
        None => {
            let date = Date::new(&JsValue::from_f64(ms as f64));
            (y, mo, d, h, mi) = (
                date.get_full_year() as i32,
                date.get_month() + 1,
                date.get_date(),
                date.get_hours(),
                date.get_minutes(),
            );
        }
    }
    Wall { date: NaiveDate::from_ymd_opt(y, mo, d).unwrap_or_default(), hour: h, minute: mi }
}

/// The plant's wall clock at an instant.
pub fn wall(ms: i64) -> Wall {
    with_zone(|f| wall_in(f, ms))
}

/// The wall clock read as if it were UTC, in ms: for working out the zone's offset.
fn as_if_utc(w: Wall) -> i64 {
    w.date.and_hms_opt(w.hour, w.minute, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default()
}

/// The instant at which the plant's clocks show `w`: the wall clock less the zone's offset, the
/// offset read again at the result in case a daylight-saving change lies between (then the
/// earlier of the two readings is taken).
pub fn from_wall(w: Wall) -> Option<DateTime<Utc>> {
    let naive = as_if_utc(w);
    let ms = with_zone(|f| {
        let offset = |at: i64| as_if_utc(wall_in(f, at)) - (at - at.rem_euclid(MINUTE_MS));
        let first = offset(naive);
        let second = offset(naive - first);
        if first == second {
            naive - first
        } else {
            (naive - first).min(naive - second)
        }
    });
    from_ms(ms)
}

/// `YYYY-MM-DD HH:MM` for a wall clock.
pub fn show_wall(w: Wall) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02}", w.date.year(), w.date.month(), w.date.day(), w.hour, w.minute)
}

/// An instant for people: `YYYY-MM-DD HH:MM`, at the plant.
pub fn show_ms(ms: i64) -> String {
    show_wall(wall(ms))
}

/// The plant date of an instant, `YYYY-MM-DD`.
pub fn format_day(ms: i64) -> String {
    let d = wall(ms).date;
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

pub fn show(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| show_ms(t.timestamp_millis())).unwrap_or_default()
}

/// The start of the current minute: a planned start chosen to the minute.
pub fn this_minute() -> DateTime<Utc> {
    let ms = now_ms();
    from_ms(ms - ms.rem_euclid(MINUTE_MS)).unwrap_or_default()
}

/// A recent instant for people: `HH:MM` if it is today (at the plant), else `YYYY-MM-DD HH:MM`.
pub fn show_recent_ms(ms: i64, now_ms: i64) -> String {
    let (at, today) = (wall(ms), wall(now_ms));
    if at.date == today.date {
        format!("{:02}:{:02}", at.hour, at.minute)
    } else {
        show_wall(at)
    }
}
