//! The date-time picker: a field that shows `YYYY-MM-DD HH:MM` at the plant and opens a sheet
//! to choose a day and a time by touch.
//!
//! Not `<input type="datetime-local">`: the webview draws that in its own language and order
//! ("12/01/2026, 02:57 PM"), with targets a gloved finger misses and in the device's zone rather
//! than the plant's. Here every text comes from `locales/`, every target is at least 48 px, the
//! week starts on Monday, and the wall clock is the plant's ([`time::wall`]). The sheet edits
//! a copy: nothing changes until 确定 (done); 取消 (cancel), the backdrop or Escape leave the
//! value as it was. The field keeps the chosen value in its `value` attribute too, for tests
//! and assistive tech.

use crate::i18n::*;
use crate::messages::fill;
use crate::time::{self, Wall};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use leptos::prelude::*;

/// The minute stepper's step; the chips offer the quarter hours.
const MINUTE_STEP: u32 = 5;
const QUARTERS: [u32; 4] = [0, 15, 30, 45];

/// The field: the chosen instant (or a prompt) on a button that opens the sheet.
///
/// `base`: the +1 h / +4 h choices count from this instant when it is set (the planned end
/// from the planned start), from now otherwise. `label_id`: the id of the field's label.
#[component]
pub fn DateTimeField(
    #[prop(into)] value: Signal<Option<DateTime<Utc>>>,
    on_change: Callback<Option<DateTime<Utc>>>,
    testid: &'static str,
    label_id: &'static str,
    #[prop(into)] heading: Signal<String>,
    #[prop(optional, into)] base: Option<Signal<Option<DateTime<Utc>>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let shown = move || time::show(value.get());
    view! {
        <button
            type="button"
            class="dt-field"
            data-testid=testid
            aria-labelledby=label_id
            aria-haspopup="dialog"
            value=shown
            on:click=move |_| open.set(true)
        >
            <span class="dt-value">
                {move || {
                    let text = shown();
                    if text.is_empty() { t_string!(i18n, datetime.choose).to_owned() } else { text }
                }}
            </span>
            <span class="dt-icon" aria-hidden="true"></span>
        </button>
        <Show when=move || open.get()>
            <DateTimeSheet value=value on_change=on_change open=open heading=heading base=base/>
        </Show>
    }
}

/// The first day of the month `date` is in.
fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// The `n`th of a comma-separated locale string (month and weekday names).
fn nth_name(list: &str, n: usize) -> String {
    list.split(',').nth(n).unwrap_or_default().trim().to_owned()
}

#[component]
fn DateTimeSheet(
    value: Signal<Option<DateTime<Utc>>>,
    on_change: Callback<Option<DateTime<Utc>>>,
    open: RwSignal<bool>,
    heading: Signal<String>,
    base: Option<Signal<Option<DateTime<Utc>>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let start = value.get_untracked().unwrap_or_else(time::this_minute);
    let draft = RwSignal::new(time::wall(start.timestamp_millis()));
    let month = RwSignal::new(month_of(draft.get_untracked().date));
    let today = move || time::wall(time::now_ms()).date;
    let choose = move |w: Wall| {
        draft.set(w);
        month.set(month_of(w.date));
    };
    let close = move || open.set(false);
    let done = move || {
        on_change.run(time::from_wall(draft.get_untracked()));
        close();
    };
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            close();
        }
    });
    on_cleanup(move || escape.remove());

    let month_title = move || {
        let m = month.get();
        let name = nth_name(t_string!(i18n, datetime.months), m.month0() as usize);
        fill(t_string!(i18n, datetime.month_title), &[("year", &m.year()), ("month", &name)])
    };
    let weekdays = move || {
        let list = t_string!(i18n, datetime.weekdays);
        (0..7).map(|i| view! { <span class="dt-wd" aria-hidden="true">{nth_name(list, i)}</span> }).collect_view()
    };
    let days = move || {
        let first = month.get();
        let blanks = first.weekday().num_days_from_monday();
        let last = first.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(first);
        let (chosen, today) = (draft.with(|w| w.date), today());
        let blank_cells = (0..blanks).map(|_| view! { <span class="dt-blank"></span> }).collect_view();
        let day_cells = first
            .iter_days()
            .take_while(|d| *d <= last)
            .map(|d| {
                let label = d.format("%Y-%m-%d").to_string();
                view! {
                    <button
                        type="button"
                        class="dt-day"
                        class:chosen=d == chosen
                        class:today=d == today
                        aria-pressed=(d == chosen).to_string()
                        aria-label=label
                        data-testid=format!("dt-day-{}", d.day())
                        on:click=move |_| draft.update(|w| *w = w.on(d))
                    >
                        {d.day()}
                    </button>
                }
            })
            .collect_view();
        (blank_cells, day_cells)
    };
    let shift_month = move |by: i32| {
        month.update(|m| {
            let moved =
                if by < 0 { m.checked_sub_months(Months::new(1)) } else { m.checked_add_months(Months::new(1)) };
            *m = moved.unwrap_or(*m);
        })
    };

    // Quick choices: now, an hour or four from now (or from `base`), today or tomorrow at the
    // chosen time.
    let from_base = move || base.and_then(|b| b.get());
    let plus = move |hours: i64| {
        let from = from_base().unwrap_or_else(time::this_minute);
        choose(time::wall((from + Duration::hours(hours)).timestamp_millis()));
    };
    let plus_text = move |hours: i64| {
        let template = if from_base().is_some() {
            t_string!(i18n, datetime.plus_from_base)
        } else {
            t_string!(i18n, datetime.plus_hours)
        };
        fill(template, &[("hours", &hours)])
    };
    let on_day = move |offset: u64| {
        let d = today().checked_add_days(chrono::Days::new(offset)).unwrap_or_else(today);
        choose(draft.get_untracked().on(d));
    };

    let step_hour = move |up: bool| draft.update(|w| w.hour = if up { (w.hour + 1) % 24 } else { (w.hour + 23) % 24 });
    let step_minute = move |up: bool| {
        draft.update(|w| {
            let down_to = w.minute - w.minute % MINUTE_STEP;
            w.minute = if up {
                (down_to + MINUTE_STEP) % 60
            } else if down_to == w.minute {
                (w.minute + 60 - MINUTE_STEP) % 60
            } else {
                down_to
            };
        })
    };
    let quarter_chips = QUARTERS
        .iter()
        .map(|&q| {
            view! {
                <button
                    type="button"
                    class="dt-chip"
                    class:chosen=move || draft.with(|w| w.minute == q)
                    data-testid=format!("dt-minute-{q:02}")
                    on:click=move |_| draft.update(|w| w.minute = q)
                >
                    {format!(":{q:02}")}
                </button>
            }
        })
        .collect_view();
    let zone = move || {
        let name = time::zone_name();
        if name.is_empty() {
            t_string!(i18n, datetime.device_zone).to_owned()
        } else {
            fill(t_string!(i18n, datetime.zone), &[("zone", &name)])
        }
    };

    view! {
        <div class="dt-backdrop" aria-hidden="true" on:click=move |_| close()></div>
        <div class="dt-sheet" role="dialog" aria-modal="true" aria-labelledby="dt-heading" data-testid="dt-picker">
            <div class="dt-head">
                <h3 id="dt-heading">{move || heading.get()}</h3>
                <output class="dt-preview" data-testid="dt-preview">{move || time::show_wall(draft.get())}</output>
                <small class="hint" data-testid="dt-zone">{zone}</small>
            </div>
            <div class="dt-body">
                <div class="dt-calendar">
                    <div class="dt-month">
                        <button
                            type="button"
                            class="dt-nav"
                            data-testid="dt-prev-month"
                            aria-label=move || t_string!(i18n, datetime.prev_month)
                            on:click=move |_| shift_month(-1)
                        >
                            "‹"
                        </button>
                        <strong data-testid="dt-month">{month_title}</strong>
                        <button
                            type="button"
                            class="dt-nav"
                            data-testid="dt-next-month"
                            aria-label=move || t_string!(i18n, datetime.next_month)
                            on:click=move |_| shift_month(1)
                        >
                            "›"
                        </button>
                    </div>
                    <div class="dt-grid">{weekdays} {days}</div>
                </div>
                <div class="dt-side">
                    <div class="dt-quick">
                        <button type="button" data-testid="dt-now" on:click=move |_| choose(time::wall(time::now_ms()))>
                            {t!(i18n, datetime.now)}
                        </button>
                        <button type="button" data-testid="dt-plus-1h" on:click=move |_| plus(1)>{move || plus_text(1)}</button>
                        <button type="button" data-testid="dt-plus-4h" on:click=move |_| plus(4)>{move || plus_text(4)}</button>
                        <button type="button" data-testid="dt-today" on:click=move |_| on_day(0)>{t!(i18n, datetime.today)}</button>
                        <button type="button" data-testid="dt-tomorrow" on:click=move |_| on_day(1)>
                            {t!(i18n, datetime.tomorrow)}
                        </button>
                    </div>
                    <div class="dt-time" role="group" aria-label=move || t_string!(i18n, datetime.time)>
                        <div class="dt-stepper">
                            <button
                                type="button"
                                data-testid="dt-hour-down"
                                aria-label=move || t_string!(i18n, datetime.hour_down)
                                on:click=move |_| step_hour(false)
                            >
                                "−"
                            </button>
                            <span class="dt-number" data-testid="dt-hour">{move || format!("{:02}", draft.get().hour)}</span>
                            <button
                                type="button"
                                data-testid="dt-hour-up"
                                aria-label=move || t_string!(i18n, datetime.hour_up)
                                on:click=move |_| step_hour(true)
                            >
                                "+"
                            </button>
                        </div>
                        <span class="dt-colon" aria-hidden="true">":"</span>
                        <div class="dt-stepper">
                            <button
                                type="button"
                                data-testid="dt-minute-down"
                                aria-label=move || t_string!(i18n, datetime.minute_down)
                                on:click=move |_| step_minute(false)
                            >
                                "−"
                            </button>
                            <span class="dt-number" data-testid="dt-minute">{move || format!("{:02}", draft.get().minute)}</span>
                            <button
                                type="button"
                                data-testid="dt-minute-up"
                                aria-label=move || t_string!(i18n, datetime.minute_up)
                                on:click=move |_| step_minute(true)
                            >
                                "+"
                            </button>
                        </div>
                    </div>
                    <div class="dt-chips">{quarter_chips}</div>
                </div>
            </div>
            <div class="dt-foot">
                <button type="button" class="secondary big" data-testid="dt-cancel" on:click=move |_| close()>
                    {t!(i18n, datetime.cancel)}
                </button>
                <button type="button" class="primary big" data-testid="dt-done" on:click=move |_| done()>
                    {t!(i18n, datetime.done)}
                </button>
            </div>
        </div>
    }
}
