//! The alerts (R-ALERT): the inbox of what the person signed in must act on, most severe and
//! soonest first, each with its permit, its deadline, how far it has escalated and who took it
//! in hand; the whole plant's alerts beside it (the safety manager's view: whom each asks); and
//! the alarm over every page while a critical alert is open — loud on the tablet
//! (a tone from the webview's own audio, no network needed) until someone acknowledges it or
//! mutes it.
//!
//! The back end computes the inbox (`inbox`, at the device's trusted time) from the same alert
//! engine the sync server runs; this page only shows it. Acknowledging is a signed event on the
//! permit, so it syncs and counts for the response rate.

use crate::api;
use crate::i18n::*;
use crate::messages::{alert_text, fill};
use crate::state::{use_app, Page};
use crate::time;
use crate::widgets::{with_names, ErrorBanner, Icon, Loading};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::alerts::Severity;
use ptw_core::api::{Action, CommandError, Inbox, InboxItem};
use ptw_core::PermitId;
use std::time::Duration;

fn severity_text(locale: Locale, s: Severity) -> &'static str {
    match s {
        Severity::Critical => td_string!(locale, inbox.critical),
        Severity::Warning => td_string!(locale, inbox.warning),
        Severity::Notice => td_string!(locale, inbox.notice),
    }
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Notice => "notice",
    }
}

#[component]
pub fn AlertInbox() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let error = RwSignal::new(None::<CommandError>);
    let busy = RwSignal::new(None::<String>);
    // Mine, or the whole plant's (fetched while shown, as often as the inbox refreshes).
    let whole_plant = RwSignal::new(false);
    let plant = RwSignal::new(None::<Inbox>);
    let load_plant = move || {
        spawn_local(async move {
            match api::plant_alerts().await {
                Ok(fresh) => {
                    if plant.with_untracked(|old| old.as_ref().is_none_or(|o| o.items != fresh.items)) {
                        plant.set(Some(fresh));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    let poll = set_interval_with_handle(
        move || {
            if whole_plant.get_untracked() {
                load_plant();
            }
        },
        PLANT_POLL,
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = poll {
            handle.clear();
        }
    });
    let me = move || app.session.with_untracked(|s| s.as_ref().map(|s| s.person.id));
    app.refresh_inbox();
    let acknowledge = move |permit: PermitId, key: String| {
        busy.set(Some(key.clone()));
        spawn_local(async move {
            match api::act(permit, &Action::Acknowledge { alert: key }).await {
                Ok(_) => {
                    error.set(None);
                    app.wrote();
                    if whole_plant.get_untracked() {
                        load_plant();
                    }
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(None);
        });
    };
    let item = move |i: InboxItem| {
        let locale = i18n.get_locale();
        let a = i.alert;
        let permit_type = i.permit_type.clone();
        let text = with_names(locale, permit_type.as_ref().map(|(t, g)| (t.as_str(), g.as_str())), |n| {
            alert_text(n, &a.alert)
        })
        .unwrap_or_default();
        let what = match (&i.number, &i.title) {
            (Some(number), Some(title)) => format!("{number} · {title}"),
            _ => td_string!(locale, inbox.certificate).to_owned(),
        };
        let deadline = a.deadline_ms.map(|ms| fill(td_string!(locale, inbox.deadline), &[("at", &time::show_ms(ms))]));
        let level = (a.level > 0).then(|| fill(td_string!(locale, inbox.level), &[("level", &a.level)]));
        // In the plant's view, whom it asks.
        let asks = (whole_plant.get_untracked() && !a.act.is_empty()).then(|| {
            let people = with_names(locale, None, |n| n.people(&a.act)).unwrap_or_default();
            fill(td_string!(locale, inbox.asks), &[("people", &people)])
        });
        let taken = a.acknowledged.as_ref().map(|ack| {
            let who = with_names(locale, None, |n| n.person(ack.by)).unwrap_or_default();
            fill(td_string!(locale, inbox.acknowledged), &[("person", &who), ("at", &time::show_ms(ack.at_ms))])
        });
        let open_permit = a.permit().map(|p| {
            view! {
                <button class="secondary" data-testid="inbox-open-permit" on:click=move |_| app.go(Page::Detail(p))>
                    {t!(i18n, inbox.open_permit)}
                </button>
            }
        });
        let asked = me().is_some_and(|me| a.act.contains(&me));
        // A conflict lies between two permits: it ends when one is changed or cancelled, and
        // neither permit's events can acknowledge it.
        let ackable = a.acknowledged.is_none() && asked && a.alert.code() != "conflict";
        let ack = match (a.permit(), ackable) {
            (Some(p), true) => {
                let key = a.key.clone();
                let mine = key.clone();
                Some(view! {
                    <button
                        class="primary"
                        data-testid="inbox-acknowledge"
                        disabled=move || busy.with(|b| b.as_deref() == Some(mine.as_str()))
                        on:click=move |_| acknowledge(p, key.clone())
                    >
                        <Icon name="check"/>
                        {t!(i18n, inbox.acknowledge)}
                    </button>
                })
            }
            _ => None,
        };
        view! {
            <li
                class=format!("alert-item severity-{}", severity_code(a.severity))
                class:acknowledged=a.acknowledged.is_some()
                data-testid="inbox-alert"
                data-kind=a.alert.code()
                data-severity=severity_code(a.severity)
                data-level=a.level.to_string()
                data-acknowledged=a.acknowledged.is_some().to_string()
            >
                <span class="severity-chip">{severity_text(locale, a.severity)}</span>
                <div class="alert-body">
                    <p class="alert-text" data-testid="inbox-alert-text">{text}</p>
                    <p class="alert-meta">
                        <span class="alert-permit" data-testid="inbox-alert-permit">{what}</span>
                        {deadline.map(|d| view! { <span class="alert-deadline">{d}</span> })}
                        {level.map(|l| view! { <span class="alert-level" data-testid="inbox-alert-level">{l}</span> })}
                    </p>
                    {asks.map(|t| view! { <p class="alert-asks" data-testid="inbox-alert-asks">{t}</p> })}
                    {taken.map(|t| view! { <p class="alert-taken" data-testid="inbox-alert-taken">{t}</p> })}
                </div>
                <div class="alert-actions">{open_permit}{ack}</div>
            </li>
        }
    };
    view! {
        <section class="alert-inbox" data-testid="alert-inbox">
            <div class="page-head">
                <button class="secondary" data-testid="back-to-list" on:click=move |_| app.go(Page::List)>
                    <Icon name="arrow-left"/>
                    {t!(i18n, nav.back_to_list)}
                </button>
                <h2>{t!(i18n, inbox.title)}</h2>
            </div>
            <nav class="tabs" aria-label=move || t_string!(i18n, inbox.title)>
                <button
                    class="tab"
                    class:active=move || !whole_plant.get()
                    aria-pressed=move || (!whole_plant.get()).to_string()
                    data-testid="inbox-mine"
                    on:click=move |_| whole_plant.set(false)
                >
                    {t!(i18n, inbox.mine)}
                    <span class="count">{move || app.inbox.with(|i| i.as_ref().map_or(0, |i| i.open))}</span>
                </button>
                <button
                    class="tab"
                    class:active=move || whole_plant.get()
                    aria-pressed=move || whole_plant.get().to_string()
                    data-testid="inbox-plant"
                    on:click=move |_| {
                        whole_plant.set(true);
                        load_plant();
                    }
                >
                    {t!(i18n, inbox.plant)}
                    {move || plant.with(|p| p.as_ref().map(|p| view! { <span class="count">{p.open}</span> }))}
                </button>
            </nav>
            <ErrorBanner error=error/>
            {move || match if whole_plant.get() { plant.get() } else { app.inbox.get() } {
                None => view! { <Loading/> }.into_any(),
                Some(inbox) if inbox.items.is_empty() && whole_plant.get_untracked() => {
                    view! { <p class="empty" data-testid="inbox-empty">{t!(i18n, inbox.plant_empty)}</p> }.into_any()
                }
                Some(inbox) if inbox.items.is_empty() => {
                    view! { <p class="empty" data-testid="inbox-empty">{t!(i18n, inbox.empty)}</p> }.into_any()
                }
                Some(inbox) => {
                    view! { <ul class="alert-list">{inbox.items.into_iter().map(item).collect::<Vec<_>>()}</ul> }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The inbox button of the top bar: how many alerts wait, red while a critical one does.
#[component]
pub fn InboxButton() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let counts = move || app.inbox.with(|i| i.as_ref().map(|i| (i.open, i.critical)));
    view! {
        <Show when=move || app.session.with(Option::is_some)>
            <button
                class="inbox-button"
                class:has-open=move || counts().is_some_and(|(open, _)| open > 0)
                class:has-critical=move || counts().is_some_and(|(_, critical)| critical > 0)
                class:active=move || app.page.get() == Page::Alerts
                data-testid="open-inbox"
                title=move || {
                    let (open, critical) = counts().unwrap_or_default();
                    fill(t_string!(i18n, inbox.count_title), &[("open", &open), ("critical", &critical)])
                }
                on:click=move |_| app.go(Page::Alerts)
            >
                <Icon name="bell"/>
                <span class="visually-hidden">{t!(i18n, inbox.open_inbox)}</span>
                <span class="inbox-count" data-testid="inbox-count">{move || counts().map(|(open, _)| open).unwrap_or(0)}</span>
            </button>
        </Show>
    }
}

/// How often the whole plant's alerts are fetched again while they are shown.
const PLANT_POLL: Duration = Duration::from_secs(5);

/// How often the alarm sounds while a critical alert is open and not muted.
const ALARM_EVERY: Duration = Duration::from_secs(5);

/// The alarm over every page while a critical alert is open: a red band that says how many, and
/// a tone every few seconds. Muting quietens the alerts open now; a new one sounds again.
#[component]
pub fn CriticalAlarm() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let muted = RwSignal::new(Vec::<String>::new());
    let open = Memo::new(move |_| {
        app.inbox.with(|i| {
            i.as_ref()
                .map(|i| {
                    i.items
                        .iter()
                        .filter(|x| x.alert.severity == Severity::Critical && x.alert.acknowledged.is_none())
                        .map(|x| x.alert.state_key())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let loud = move || open.with(|keys| keys.iter().any(|k| muted.with(|m| !m.contains(k))));
    let tone = set_interval_with_handle(
        move || {
            if loud() {
                sound::beep();
            }
        },
        ALARM_EVERY,
    )
    .ok();
    on_cleanup(move || {
        if let Some(handle) = tone {
            handle.clear();
        }
    });
    // The first tone at once, not after the interval.
    Effect::new(move |was: Option<bool>| {
        let now = loud();
        if now && was != Some(true) {
            sound::beep();
        }
        now
    });
    view! {
        <Show when=move || open.with(|k| !k.is_empty())>
            <div class="critical-alarm" class:muted=move || !loud() role="alert" data-testid="critical-alarm">
                <Icon name="triangle-alert"/>
                <strong data-testid="critical-alarm-text">
                    {move || fill(t_string!(i18n, inbox.alarm), &[("count", &open.with(Vec::len))])}
                </strong>
                <button class="secondary" data-testid="critical-alarm-open" on:click=move |_| app.go(Page::Alerts)>
                    {t!(i18n, inbox.alarm_open)}
                </button>
                <Show when=loud>
                    <button class="secondary" data-testid="critical-alarm-mute" on:click=move |_| muted.set(open.get())>
                        <Icon name="volume-x"/>
                        {t!(i18n, inbox.alarm_mute)}
                    </button>
                </Show>
            </div>
        </Show>
    }
}

/// The alarm's tone, from the webview's Web Audio: no file, no network.
mod sound {
    use std::cell::RefCell;

    thread_local! {
        // One audio context for the app's life: a webview allows only a few.
        static CONTEXT: RefCell<Option<web_sys::AudioContext>> = const { RefCell::new(None) };
    }

    /// Two short high tones. Silently nothing when the webview has no audio.
    pub fn beep() {
        CONTEXT.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.is_none() {
                *cell = web_sys::AudioContext::new().ok();
            }
            let Some(ctx) = cell.as_ref() else { return };
            let _ = ctx.resume();
            let start = ctx.current_time();
            for (n, freq) in [(0.0, 880.0_f32), (0.3, 1_175.0)] {
                let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else { return };
                osc.frequency().set_value(freq);
                gain.gain().set_value(0.25);
                if osc.connect_with_audio_node(&gain).is_err()
                    || gain.connect_with_audio_node(&ctx.destination()).is_err()
                {
                    return;
                }
                let _ = osc.start_with_when(start + n);
                let _ = osc.stop_with_when(start + n + 0.22);
            }
        });
    }
}
