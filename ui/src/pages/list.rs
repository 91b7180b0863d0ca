//! The permit list: status tabs with counts, one row per permit, and "new permit".
//!
//! Rows come from the back end's projection (`list_permits`), never from whole permits, so the
//! list stays fast with thousands of permits on a tablet.

use crate::api;
use crate::i18n::*;
use crate::messages::{self, fill};
use crate::state::{use_app, Page};
use crate::time;
use crate::widgets::{with_names, ErrorBanner, Loading, StatusBadge};
use leptos::prelude::*;
use ptw_core::api::{CommandError, PermitSummary};
use ptw_core::Status;

/// Rows read at once; a plant has a few hundred open permits at most.
const PAGE_SIZE: u32 = 200;

#[component]
pub fn PermitList() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let tab = RwSignal::new(None::<Status>);
    // Permits synced in from other devices show up when the last sync time moves.
    let synced = Memo::new(move |_| app.sync.with(|s| s.as_ref().and_then(|s| s.last_sync_ms)));
    let counts = LocalResource::new(move || {
        app.writes.track();
        synced.track();
        api::status_counts()
    });
    let permits = LocalResource::new(move || {
        let status = tab.get();
        app.writes.track();
        synced.track();
        api::list_permits(status, PAGE_SIZE, 0)
    });
    let error = RwSignal::new(None::<CommandError>);
    Effect::new(move |_| {
        if let Some(Err(e)) = permits.get() {
            error.set(Some(e));
        }
    });

    let count_of = move |status: Option<Status>| -> u64 {
        match counts.get() {
            Some(Ok(counts)) => counts.iter().filter(|(s, _)| status.is_none_or(|x| x == *s)).map(|(_, n)| n).sum(),
            _ => 0,
        }
    };
    let tabs = std::iter::once(None)
        .chain(Status::ALL.into_iter().map(Some))
        .map(|status| {
            let code = status.map(Status::code).unwrap_or("all");
            let label = move || match status {
                Some(s) => messages::status_text(i18n.get_locale(), s),
                None => t_string!(i18n, list.all),
            };
            view! {
                <button
                    class="tab"
                    class:active=move || tab.get() == status
                    data-testid=format!("tab-{code}")
                    on:click=move |_| tab.set(status)
                >
                    <span>{label}</span>
                    <span class="count">{move || count_of(status)}</span>
                </button>
            }
        })
        .collect_view();

    let rows = move || match permits.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(_)) => ().into_any(),
        Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{t!(i18n, list.empty)}</p> }.into_any(),
        Some(Ok(list)) => list.into_iter().map(|p| view! { <PermitRow permit=p/> }).collect_view().into_any(),
    };

    view! {
        <section class="permit-list">
            <div class="page-head">
                <h2>{t!(i18n, list.title)}</h2>
                <button class="primary big" data-testid="new-permit" on:click=move |_| app.go(Page::NewPermit)>
                    "＋ " {t!(i18n, list.new)}
                </button>
            </div>
            <nav class="tabs">{tabs}</nav>
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
    view! {
        <button class="permit-row" data-testid="permit-row" data-number=p.number.clone() on:click=move |_| app.go(Page::Detail(id))>
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
