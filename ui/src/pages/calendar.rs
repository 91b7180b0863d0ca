//! The calendar of planned work (作业日历): a day or a week at the plant, one row per area, each
//! permit in the days its planned window touches — as the permit stands now, so a change that
//! moved or extended its window shows where it moved. Rejected and cancelled permits are left
//! out; a tap opens the permit.
//!
//! Rows come from the list projection (`list_permits` with a planned window), like the list.

use crate::api;
use crate::i18n::*;
use crate::state::{use_app, Page};
use crate::time;
use crate::widgets::{Choice, ErrorBanner, Icon, StatusBadge, WorkTypeIcon};
use chrono::{Datelike, Days, NaiveDate};
use leptos::prelude::*;
use ptw_core::api::{CommandError, ListQuery, PermitSummary};
use ptw_core::Status;
use std::collections::BTreeMap;

/// Permits read for one view at most.
const MAX_ROWS: u32 = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Span {
    Day,
    Week,
}

/// The first day shown: the day itself, or the Monday of its week.
fn first_day(span: Span, day: NaiveDate) -> NaiveDate {
    match span {
        Span::Day => day,
        Span::Week => day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday()))).unwrap_or(day),
    }
}

fn days(span: Span, day: NaiveDate) -> Vec<NaiveDate> {
    let first = first_day(span, day);
    let n = if span == Span::Day { 1 } else { 7 };
    (0..n).filter_map(|i| first.checked_add_days(Days::new(i))).collect()
}

/// `[from, to)` of a plant day, in Unix ms.
fn day_window(date: NaiveDate) -> Option<(i64, i64)> {
    let midnight = |date| time::from_wall(time::Wall { date, hour: 0, minute: 0 }).map(|t| t.timestamp_millis());
    Some((midnight(date)?, midnight(date.checked_add_days(Days::new(1))?)?))
}

#[component]
pub fn PlannedWork() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let span = RwSignal::new(Span::Week);
    let day = RwSignal::new(time::wall(time::now_ms()).date);
    let error = RwSignal::new(None::<CommandError>);
    let synced = Memo::new(move |_| app.sync.with(|s| s.as_ref().and_then(|s| s.last_sync_ms)));
    let rows = LocalResource::new(move || {
        app.writes.track();
        synced.track();
        let shown = days(span.get(), day.get());
        let window = shown.first().and_then(|f| day_window(*f)).zip(shown.last().and_then(|l| day_window(*l)));
        async move {
            let Some(((from, _), (_, to))) = window else { return Ok(Vec::new()) };
            let query = ListQuery { limit: MAX_ROWS, planned_within: Some((from, to)), ..ListQuery::default() };
            api::list_permits(query).await
        }
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = rows.get() {
            error.set(Some(e));
        }
    });
    let step = move |forward: bool| {
        let n = if span.get_untracked() == Span::Day { 1 } else { 7 };
        day.update(|d| {
            let next = if forward { d.checked_add_days(Days::new(n)) } else { d.checked_sub_days(Days::new(n)) };
            if let Some(next) = next {
                *d = next;
            }
        })
    };
    let range = move || {
        let shown = days(span.get(), day.get());
        match (shown.first(), shown.last()) {
            (Some(a), Some(b)) if a != b => format!("{a} – {b}"),
            (Some(a), _) => a.to_string(),
            _ => String::new(),
        }
    };
    let mode = move |which: Span, testid: &'static str| {
        view! {
            <Choice
                chosen=Signal::derive(move || span.get() == which)
                testid=testid.to_owned()
                on_pick=Callback::new(move |()| span.set(which))
            >
                {move || if which == Span::Day { t_string!(i18n, calendar_view.day) } else { t_string!(i18n, calendar_view.week) }}
            </Choice>
        }
    };
    let grid = move || {
        let shown = days(span.get(), day.get());
        let list: Vec<PermitSummary> = rows
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| !matches!(p.status, Status::Rejected | Status::Cancelled))
            .collect();
        let areas: BTreeMap<ptw_core::LocationId, String> = app
            .directory
            .with(|d| d.as_ref().map(|d| d.locations.iter().map(|l| (l.id, l.area.clone())).collect()))
            .unwrap_or_default();
        let no_area = t_string!(i18n, calendar_view.no_area).to_owned();
        let mut by_area: BTreeMap<String, Vec<PermitSummary>> = BTreeMap::new();
        for p in list {
            let area = p
                .location
                .and_then(|l| areas.get(&l).cloned())
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| no_area.clone());
            by_area.entry(area).or_default().push(p);
        }
        if by_area.is_empty() {
            return view! { <p class="empty" data-testid="calendar-empty">{t!(i18n, calendar_view.nothing)}</p> }
                .into_any();
        }
        let today = time::wall(time::now_ms()).date;
        let head = shown
            .iter()
            .map(|d| {
                let weekday = weekday_text(i18n.get_locale(), d.weekday());
                view! { <th class:today=*d == today>{format!("{weekday} {:02}-{:02}", d.month(), d.day())}</th> }
            })
            .collect_view();
        let body = by_area
            .into_iter()
            .map(|(area, mut permits)| {
                permits.sort_by_key(|p| p.planned_start_ms);
                let cells = shown
                    .iter()
                    .map(|d| {
                        let Some((from, to)) = day_window(*d) else { return view! { <td></td> }.into_any() };
                        let items = permits
                            .iter()
                            .filter(|p| matches!((p.planned_start_ms, p.planned_end_ms), (Some(s), Some(e)) if s < to && e > from))
                            .map(|p| view! { <CalendarItem permit=p.clone()/> })
                            .collect_view();
                        view! { <td data-testid="calendar-cell" data-day=d.to_string()>{items}</td> }.into_any()
                    })
                    .collect_view();
                view! {
                    <tr data-testid=format!("calendar-area-{area}")>
                        <th scope="row" class="area">{area.clone()}</th>
                        {cells}
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="calendar-scroll">
                <table class="calendar" data-testid="calendar">
                    <thead><tr><th>{t!(i18n, calendar_view.area)}</th>{head}</tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="planned-work" data-testid="calendar-page">
            <div class="page-head">
                <button class="secondary" data-testid="back-to-list" on:click=move |_| app.go(Page::List)>
                    <Icon name="arrow-left"/>
                    {t!(i18n, nav.back_to_list)}
                </button>
                <h2>{t!(i18n, calendar_view.title)}</h2>
            </div>
            <ErrorBanner error=error/>
            <div class="calendar-bar">
                <div class="choices" role="radiogroup">{mode(Span::Day, "calendar-day")}{mode(Span::Week, "calendar-week")}</div>
                <button
                    class="secondary"
                    data-testid="calendar-prev"
                    aria-label=move || t_string!(i18n, calendar_view.prev)
                    on:click=move |_| step(false)
                >
                    "←"
                </button>
                <button class="secondary" data-testid="calendar-today" on:click=move |_| day.set(time::wall(time::now_ms()).date)>
                    {t!(i18n, calendar_view.today)}
                </button>
                <button
                    class="secondary"
                    data-testid="calendar-next"
                    aria-label=move || t_string!(i18n, calendar_view.next)
                    on:click=move |_| step(true)
                >
                    "→"
                </button>
                <strong class="calendar-range" data-testid="calendar-range">{range}</strong>
            </div>
            {grid}
        </section>
    }
}

/// One permit in a day: its type, number, title, planned hours and status; a tap opens it.
#[component]
fn CalendarItem(permit: PermitSummary) -> impl IntoView {
    let app = use_app();
    let id = permit.id;
    let hours = match (permit.planned_start_ms, permit.planned_end_ms) {
        (Some(s), Some(e)) => {
            let (a, b) = (time::wall(s), time::wall(e));
            let hm = |w: time::Wall| format!("{:02}:{:02}", w.hour, w.minute);
            if a.date == b.date {
                format!("{}–{}", hm(a), hm(b))
            } else {
                format!("{} {}–{} {}", &time::show_wall(a)[5..10], hm(a), &time::show_wall(b)[5..10], hm(b))
            }
        }
        _ => String::new(),
    };
    view! {
        <button
            type="button"
            class=format!("calendar-item status-{}", permit.status.code())
            data-testid="calendar-item"
            data-number=permit.number.clone()
            on:click=move |_| app.go(Page::Detail(id))
        >
            <WorkTypeIcon permit_type=permit.permit_type.clone() testid="calendar-item-type"/>
            <span class="calendar-item-text">
                <strong>{permit.number.clone()}</strong>
                <span>{permit.title.clone()}</span>
                <small data-testid="calendar-item-hours">{hours}</small>
            </span>
            <StatusBadge status=permit.status/>
        </button>
    }
}

fn weekday_text(locale: Locale, w: chrono::Weekday) -> String {
    let names = td_string!(locale, calendar_view.weekdays);
    names.split(',').nth(w.num_days_from_monday() as usize).unwrap_or_default().to_owned()
}
