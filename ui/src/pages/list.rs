//! The permit list: "waiting for me" first, search, one row of filter chips with counts, one
//! row per permit saying whose turn it is, and "new permit".
//!
//! Rows come from the back end's projection (`list_permits`), never from whole permits, so the
//! list stays fast with thousands of permits on a tablet; more rows load a page at a time.

use crate::api;
use crate::i18n::*;
use crate::messages::{self, fill};
use crate::state::{use_app, Page};
use crate::time;
use crate::widgets::{with_names, ErrorBanner, Icon, Loading, StatusBadge, WorkTypeIcon};
use leptos::prelude::*;
use ptw_core::api::{CommandError, ListQuery, PermitSummary, MAX_SEARCH_CHARS};
use ptw_core::Status;

/// Rows read at once; "more" reads the next page.
const PAGE_SIZE: u32 = 200;

/// A planned-window filter, by the plant's calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    Today,
    Tomorrow,
    ThisWeek,
}

impl When {
    fn code(self) -> &'static str {
        match self {
            When::Today => "today",
            When::Tomorrow => "tomorrow",
            When::ThisWeek => "week",
        }
    }

    /// `[from, to)` in Unix ms: whole days at the plant (a week from Monday).
    fn window(self) -> Option<(i64, i64)> {
        use chrono::{Datelike, Days};
        let today = time::wall(time::now_ms()).date;
        let (from, days) = match self {
            When::Today => (today, 1),
            When::Tomorrow => (today.checked_add_days(Days::new(1))?, 1),
            When::ThisWeek => {
                (today.checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))?, 7)
            }
        };
        let midnight = |date| time::from_wall(time::Wall { date, hour: 0, minute: 0 }).map(|t| t.timestamp_millis());
        Some((midnight(from)?, midnight(from.checked_add_days(Days::new(days))?)?))
    }
}

/// Which permits the list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Filter {
    /// Those whose turn it is for the signed-in person.
    Mine,
    All,
    Status(Status),
}

#[component]
pub fn PermitList() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let me = move || app.session.with(|s| s.as_ref().map(|s| s.person.id));
    let is_admin = move || {
        app.session.with(|s| {
            s.as_ref().is_some_and(|s| s.person.has_role(&ptw_core::Role::new(crate::pages::admin::ADMIN_ROLE)))
        })
    };
    // Undecided until we know whether anything waits for the person: then "mine" if so.
    let filter = RwSignal::new(None::<Filter>);
    let text = RwSignal::new(String::new());
    let pages = RwSignal::new(1u32);
    // Narrowing the list further: one work type, one area, one stretch of days (each optional).
    let kind = RwSignal::new(None::<String>);
    let area = RwSignal::new(None::<String>);
    let when = RwSignal::new(None::<When>);
    // Permits synced in from other devices show up when the last sync time moves.
    let synced = Memo::new(move |_| app.sync.with(|s| s.as_ref().and_then(|s| s.last_sync_ms)));
    let counts = LocalResource::new(move || {
        app.writes.track();
        synced.track();
        api::status_counts()
    });
    let mine = LocalResource::new(move || {
        app.writes.track();
        synced.track();
        let query = ListQuery { limit: PAGE_SIZE, waiting_for: me(), ..Default::default() };
        async move {
            if query.waiting_for.is_some() {
                api::list_permits(query).await.map(|l| l.len())
            } else {
                Ok(0)
            }
        }
    });
    Effect::new(move |_| {
        if filter.get_untracked().is_none() {
            match mine.get() {
                Some(Ok(n)) => filter.set(Some(if n > 0 { Filter::Mine } else { Filter::All })),
                // What waits for the person could not be read: the whole list, rather than a
                // spinner that never ends (the list's own answer says what went wrong).
                Some(Err(_)) => filter.set(Some(Filter::All)),
                None => {}
            }
        }
    });
    let permits = LocalResource::new(move || {
        let shown = filter.get();
        let text = text.get();
        let limit = PAGE_SIZE * pages.get();
        app.writes.track();
        synced.track();
        let mut query = ListQuery {
            limit,
            text: Some(text).filter(|t| !t.trim().is_empty()),
            permit_type: kind.get(),
            area: area.get(),
            planned_within: when.get().and_then(When::window),
            ..Default::default()
        };
        match shown {
            Some(Filter::Mine) => query.waiting_for = me(),
            Some(Filter::Status(s)) => query.status = Some(s),
            Some(Filter::All) | None => {}
        }
        async move {
            match shown {
                None => Ok(None),
                Some(_) => api::list_permits(query).await.map(|rows| Some((rows, limit))),
            }
        }
    });
    let error = RwSignal::new(None::<CommandError>);
    Effect::new(move |_| {
        if let Some(Err(e)) = permits.get() {
            error.set(Some(e));
        }
    });
    let choose = move |f: Filter| {
        pages.set(1);
        filter.set(Some(f));
    };

    let count_of = move |status: Option<Status>| -> u64 {
        match counts.get() {
            Some(Ok(counts)) => counts.iter().filter(|(s, _)| status.is_none_or(|x| x == *s)).map(|(_, n)| n).sum(),
            _ => 0,
        }
    };
    let chip = move |f: Filter, code: &'static str| {
        let label = move || match f {
            Filter::Mine => t_string!(i18n, list.waiting_for_me),
            Filter::All => t_string!(i18n, list.all),
            Filter::Status(s) => messages::status_text(i18n.get_locale(), s),
        };
        let count = move || match f {
            Filter::Mine => mine.get().and_then(Result::ok).unwrap_or(0) as u64,
            Filter::All => count_of(None),
            Filter::Status(s) => count_of(Some(s)),
        };
        view! {
            <button
                class="tab"
                class:mine=f == Filter::Mine
                class:active=move || filter.get() == Some(f)
                aria-pressed=move || (filter.get() == Some(f)).to_string()
                data-testid=format!("tab-{code}")
                on:click=move |_| choose(f)
            >
                <span>{label}</span>
                <span class="count">{count}</span>
            </button>
        }
    };
    let chips = [chip(Filter::Mine, "mine"), chip(Filter::All, "all")]
        .into_iter()
        .chain(Status::ALL.into_iter().map(|s| chip(Filter::Status(s), s.code())))
        .collect_view();
    // A chip that narrows the list by `value` of `signal`, and lets go when pressed again.
    fn refine<T: Clone + PartialEq + Send + Sync + 'static>(
        signal: RwSignal<Option<T>>,
        pages: RwSignal<u32>,
        value: T,
        testid: String,
        label: impl Fn() -> String + Send + Sync + 'static,
    ) -> impl IntoView {
        let on = {
            let value = value.clone();
            move || signal.with(|v| v.as_ref() == Some(&value))
        };
        let pressed = on.clone();
        let active = on.clone();
        view! {
            <button
                class="tab refine"
                class:active=active
                aria-pressed=move || pressed().to_string()
                data-testid=testid
                on:click=move |_| {
                    pages.set(1);
                    let was = on();
                    signal.set(if was { None } else { Some(value.clone()) });
                }
            >
                {label}
            </button>
        }
    }
    let refinements = move || {
        let l = i18n.get_locale();
        let (types, areas) = app
            .directory
            .with(|d| {
                d.as_ref().map(|d| {
                    let types: Vec<(String, String)> = d
                        .catalog
                        .permit_types
                        .iter()
                        .map(|t| (t.code.clone(), t.name.get(l.as_str()).to_owned()))
                        .collect();
                    let mut areas: Vec<String> =
                        d.locations.iter().map(|loc| loc.area.clone()).filter(|a| !a.is_empty()).collect();
                    areas.sort();
                    areas.dedup();
                    (types, areas)
                })
            })
            .unwrap_or_default();
        let types = types
            .into_iter()
            .map(|(code, name)| refine(kind, pages, code.clone(), format!("filter-type-{code}"), move || name.clone()))
            .collect_view();
        let areas = areas
            .into_iter()
            .map(|a| {
                let name = a.clone();
                refine(area, pages, a.clone(), format!("filter-area-{a}"), move || name.clone())
            })
            .collect_view();
        let days = [When::Today, When::Tomorrow, When::ThisWeek]
            .into_iter()
            .map(|w| {
                let label = move || {
                    match w {
                        When::Today => t_string!(i18n, list.today),
                        When::Tomorrow => t_string!(i18n, list.tomorrow),
                        When::ThisWeek => t_string!(i18n, list.this_week),
                    }
                    .to_owned()
                };
                refine(when, pages, w, format!("filter-when-{}", w.code()), label)
            })
            .collect_view();
        view! {
            <span class="chip-divider" aria-hidden="true"></span>
            {types}
            <span class="chip-divider" aria-hidden="true"></span>
            {areas}
            <span class="chip-divider" aria-hidden="true"></span>
            {days}
        }
    };

    let rows = move || match permits.get() {
        None | Some(Ok(None)) => view! { <Loading/> }.into_any(),
        Some(Err(_)) => ().into_any(),
        Some(Ok(Some((list, _)))) if list.is_empty() => {
            let empty = move || {
                if filter.get() == Some(Filter::Mine) && text.with(|t| t.trim().is_empty()) {
                    t_string!(i18n, list.nothing_for_me)
                } else {
                    t_string!(i18n, list.empty)
                }
            };
            // What to do next, under what is (not) here: an empty list is a place to start from.
            let searching = move || !text.with(|t| t.trim().is_empty());
            let hint = move || {
                if searching() {
                    t_string!(i18n, list.empty_search_hint)
                } else if filter.get() == Some(Filter::Mine) {
                    t_string!(i18n, list.nothing_for_me_hint)
                } else {
                    t_string!(i18n, list.empty_hint)
                }
            };
            view! {
                <div class="empty-state" data-testid="list-empty-state">
                    <Icon name=Signal::derive(move || if searching() { "search-x" } else { "inbox" }) class="empty-icon"/>
                    <p class="empty" data-testid="list-empty">{empty}</p>
                    <p class="hint" data-testid="list-empty-hint">{hint}</p>
                </div>
            }
            .into_any()
        }
        Some(Ok(Some((list, limit)))) => {
            let full = list.len() as u32 >= limit;
            let more = full.then(|| {
                view! {
                    <button class="secondary big wide" data-testid="list-more" on:click=move |_| pages.update(|n| *n += 1)>
                        {t!(i18n, list.more)}
                    </button>
                }
            });
            view! {
                {list.into_iter().map(|p| view! { <PermitRow permit=p/> }).collect_view()}
                {more}
            }
            .into_any()
        }
    };

    view! {
        <section class="permit-list">
            <div class="page-head">
                <h2>{t!(i18n, list.title)}</h2>
                <Show when=is_admin>
                    <button class="secondary big" data-testid="open-admin" on:click=move |_| app.go(Page::Admin)>
                        <Icon name="users"/>
                        {t!(i18n, admin.open)}
                    </button>
                </Show>
                <button class="secondary big" data-testid="open-certificates" on:click=move |_| app.go(Page::Certificates)>
                    <Icon name="shield-check"/>
                    {t!(i18n, certificates.open)}
                </button>
                <button class="secondary big" data-testid="open-calendar" on:click=move |_| app.go(Page::Calendar)>
                    <Icon name="calendar"/>
                    {t!(i18n, calendar_view.open)}
                </button>
                <button class="primary big" data-testid="new-permit" on:click=move |_| app.go(Page::NewPermit)>
                    <Icon name="plus"/>
                    {t!(i18n, list.new)}
                </button>
            </div>
            <div class="search" role="search">
                <input
                    type="text"
                    enterkeyhint="search"
                    maxlength=MAX_SEARCH_CHARS.to_string()
                    data-testid="list-search"
                    aria-label=move || t_string!(i18n, list.search_label)
                    placeholder=move || t_string!(i18n, list.search)
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        pages.set(1);
                        text.set(event_target_value(&ev));
                    }
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        // A wedge reader pointed at a permit's QR types its text and Enter: open it.
                        if ev.key() == "Enter" {
                            if let ptw_core::codes::Scan::Permit(id) = ptw_core::codes::Scan::parse(&text.get_untracked()) {
                                ev.prevent_default();
                                text.set(String::new());
                                app.go(Page::Detail(id));
                            }
                        }
                    }
                />
                {move || (!text.with(String::is_empty)).then(|| view! {
                    <button class="secondary" data-testid="list-search-clear" on:click=move |_| text.set(String::new())>
                        {t!(i18n, list.clear_search)}
                    </button>
                })}
            </div>
            <nav class="tabs chips" aria-label=move || t_string!(i18n, list.filters)>{chips} {refinements}</nav>
            <ErrorBanner error=error/>
            <div class="rows">{rows}</div>
        </section>
    }
}

#[component]
fn PermitRow(permit: PermitSummary) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let p = permit;
    let id = p.id;
    let status = p.status;
    let (ptype, grade) = (p.permit_type.clone(), p.grade.clone());
    let kind = {
        let (ptype, grade) = (ptype.clone(), grade.clone());
        move || with_names(i18n.get_locale(), None, |n| n.type_and_grade(&ptype, &grade))
    };
    let location = p.location;
    let place = move || with_names(i18n.get_locale(), None, |n| n.location(location));
    let window = format!(
        "{} – {}",
        p.planned_start_ms.map(time::show_ms).unwrap_or_default(),
        p.planned_end_ms.map(time::show_ms).unwrap_or_default()
    );
    let step = p.current_step.clone().map(|step| {
        let (ptype, grade) = (ptype.clone(), grade.clone());
        move || {
            let name = with_names(i18n.get_locale(), Some((&ptype, &grade)), |n| n.step(&step)).unwrap_or_default();
            fill(t_string!(i18n, list.open_step), &[("step", &name)])
        }
    });
    let alerts = p.alert_count;
    let rejected = p.rejected_count;
    let mine = p.mine;
    let pending = p.pending;
    // Only a device with a server has anything "not yet on the server".
    let enrolled = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.server_configured));
    let turn = p.turn.clone();
    let turn_text = move || {
        let me = app.session.with(|s| s.as_ref().map(|s| s.person.id));
        with_names(i18n.get_locale(), None, |n| messages::turn_text(n, &turn, me)).flatten()
    };
    view! {
        <button
            class="permit-row"
            class:mine=mine
            data-testid="permit-row"
            data-number=p.number.clone()
            data-mine=mine.to_string()
            on:click=move |_| app.go(Page::Detail(id))
        >
            <WorkTypeIcon permit_type=ptype.clone() testid="row-work-type"/>
            <div class="row-main">
                <div class="row-top">
                    <span class="number" data-testid="row-number">{p.number.clone()}</span>
                    <span class="title" data-testid="row-title">{p.title.clone()}</span>
                </div>
                <div class="meta">
                    <span>{kind}</span>
                    <span>{place}</span>
                    <span class="window">{window}</span>
                </div>
            </div>
            <div class="row-side">
                <StatusBadge status=status testid="row-status"/>
                {step.map(|s| view! { <span class="open-step" data-testid="row-step">{s}</span> })}
                <span class="turn" class:mine=mine data-testid="row-turn">{turn_text}</span>
                {move || (pending && enrolled()).then(|| view! {
                    <span class="badge not-on-server" data-testid="row-not-on-server">{t!(i18n, list.not_on_server)}</span>
                })}
                {(alerts > 0).then(|| view! {
                    <span class="badge alert-badge" data-testid="row-alerts">
                        {move || fill(t_string!(i18n, list.alerts), &[("count", &alerts)])}
                    </span>
                })}
                {(rejected > 0).then(|| view! {
                    <span class="badge rejected-badge">
                        {move || fill(t_string!(i18n, list.rejected_events), &[("count", &rejected)])}
                    </span>
                })}
            </div>
        </button>
    }
}
