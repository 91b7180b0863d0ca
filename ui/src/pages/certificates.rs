//! Certificates (证书与资质): the signed-in person's own, and where each stands; for the people
//! who oversee the plant's (inspectors, the safety department, managers — R-CERTREPORT), every
//! certificate expiring within its type's warning days or expired (R-EXPIRY) and the holding
//! statistics by department and type, exported as XLSX or printed.
//!
//! Everything here is computed in ptw-core from the directory the device holds, so it works
//! with no network; only the workbook is written by the back end (to the downloads folder).

use crate::api;
use crate::i18n::*;
use crate::messages::fill;
use crate::state::{registry, use_app, Page};
use crate::time;
use crate::widgets::{with_names, ErrorBanner, Icon};
use leptos::prelude::*;
use ptw_core::api::CommandError;
use ptw_core::qualification::{self, Standing};
use std::sync::Arc;

fn standing_text(locale: Locale, s: Standing) -> &'static str {
    match s {
        Standing::Valid => td_string!(locale, certificates.valid),
        Standing::Expiring => td_string!(locale, certificates.expiring),
        Standing::Expired => td_string!(locale, certificates.expired),
        Standing::Revoked => td_string!(locale, certificates.revoked),
        Standing::NotYetValid => td_string!(locale, certificates.not_yet_valid),
    }
}

#[component]
pub fn Certificates() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let error = RwSignal::new(None::<CommandError>);
    let saved = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let reg = Memo::new(move |_| app.directory.with(|d| d.as_ref().map(|d| Arc::new(registry(d)))));
    let me = move || app.session.with(|s| s.as_ref().map(|s| s.person.clone()));
    let oversees = move || me().is_some_and(|p| qualification::oversees(&p));
    let now = time::now_ms();

    let mine = move || {
        let (Some(r), Some(p)) = (reg.get(), me()) else { return ().into_any() };
        let locale = i18n.get_locale();
        let rows = r
            .certificates_of(p.id)
            .map(|c| {
                let warn = r.catalog.certificate_type(&c.cert_type).map(|t| t.warn_days);
                let s = qualification::standing_of(c, warn, now);
                let name = with_names(locale, None, |n| n.certificate_type(&c.cert_type)).unwrap_or_default();
                view! {
                    <tr data-testid="my-certificate" class=format!("standing-{s:?}").to_lowercase()>
                        <td>{name}</td>
                        <td>{c.number.clone()}</td>
                        <td>{time::format_day(c.valid_to_ms - 1)}</td>
                        <td><span class="standing">{standing_text(locale, s)}</span></td>
                    </tr>
                }
            })
            .collect::<Vec<_>>();
        if rows.is_empty() {
            return view! { <p class="empty" data-testid="my-certificates-none">{t!(i18n, certificates.none_mine)}</p> }
                .into_any();
        }
        view! {
            <table class="cert-table" data-testid="my-certificates">
                <thead><tr>
                    <th>{t!(i18n, certificates.type_)}</th><th>{t!(i18n, certificates.number)}</th>
                    <th>{t!(i18n, certificates.valid_to)}</th><th>{t!(i18n, certificates.standing)}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };

    let warnings = move || {
        let Some(r) = reg.get() else { return ().into_any() };
        let locale = i18n.get_locale();
        let list = qualification::expiry_warnings(&r, None, now);
        if list.is_empty() {
            return view! { <p class="empty">{t!(i18n, certificates.no_warnings)}</p> }.into_any();
        }
        let items = list
            .into_iter()
            .map(|w| {
                let (person, cert) =
                    with_names(locale, None, |n| (n.person(w.person), n.certificate_type(&w.cert_type))).unwrap_or_default();
                let left = if w.days_left >= 0 {
                    fill(td_string!(locale, certificates.days_left), &[("days", &w.days_left)])
                } else {
                    fill(td_string!(locale, certificates.days_over), &[("days", &(-w.days_left))])
                };
                view! {
                    <li data-testid="expiry-warning" class=format!("standing-{:?}", w.standing).to_lowercase()>
                        <strong>{person}</strong>
                        <span>{format!("{cert} · {}", w.number)}</span>
                        <span>{fill(td_string!(locale, certificates.until), &[("day", &time::format_day(w.valid_to_ms - 1))])}</span>
                        <span class="standing">{format!("{} · {left}", standing_text(locale, w.standing))}</span>
                    </li>
                }
            })
            .collect::<Vec<_>>();
        view! { <ul class="expiry-list" data-testid="expiry-warnings">{items}</ul> }.into_any()
    };

    let statistics = move || {
        let Some(r) = reg.get() else { return ().into_any() };
        let locale = i18n.get_locale();
        let stats = qualification::holding_statistics(&r, now);
        let no_department = td_string!(locale, certificates.no_department);
        let rows = stats
            .rows
            .iter()
            .map(|row| {
                let cert = with_names(locale, None, |n| n.certificate_type(&row.cert_type)).unwrap_or_default();
                let dept = if row.department.is_empty() { no_department.to_owned() } else { row.department.clone() };
                let headcount = stats.headcount.iter().find(|(d, _)| *d == row.department).map_or(0, |(_, n)| *n);
                view! {
                    <tr data-testid="cert-stats-row">
                        <td>{dept}</td><td>{cert}</td>
                        <td class="num">{row.holders()}</td><td class="num">{row.valid}</td>
                        <td class="num">{row.expiring}</td><td class="num">{row.lapsed}</td>
                        <td class="num">{headcount}</td>
                    </tr>
                }
            })
            .collect::<Vec<_>>();
        view! {
            <table class="cert-table" data-testid="cert-stats">
                <thead><tr>
                    <th>{t!(i18n, certificates.department)}</th><th>{t!(i18n, certificates.type_)}</th>
                    <th>{t!(i18n, certificates.holders)}</th><th>{t!(i18n, certificates.valid)}</th>
                    <th>{t!(i18n, certificates.expiring)}</th><th>{t!(i18n, certificates.lapsed)}</th>
                    <th>{t!(i18n, certificates.headcount)}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };

    let export = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let locale = i18n.get_locale_untracked().as_str().to_owned();
        leptos::task::spawn_local(async move {
            match api::export_certificate_report(locale).await {
                Ok(path) => saved.set(Some(path)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let print = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };

    view! {
        <section class="certificates">
            <div class="page-head no-print">
                <button class="secondary" data-testid="back-to-list" on:click=move |_| app.go(Page::List)>
                    <Icon name="arrow-left"/>
                    {t!(i18n, nav.back_to_list)}
                </button>
                <h2>{t!(i18n, certificates.title)}</h2>
            </div>
            <ErrorBanner error=error/>
            <div class="card no-print">
                <h3>{t!(i18n, certificates.mine)}</h3>
                {mine}
            </div>
            <Show when=oversees>
                <div class="card no-print">
                    <h3>{t!(i18n, certificates.warnings)}</h3>
                    {warnings}
                </div>
                <div class="card print-area">
                    <h3>{t!(i18n, certificates.statistics)}</h3>
                    <p class="print-only">{move || fill(t_string!(i18n, certificates.as_of), &[("day", &time::format_day(now))])}</p>
                    {statistics}
                    <div class="actions-row no-print">
                        <button class="primary big" data-testid="export-cert-report" disabled=move || busy.get() on:click=export>
                            {t!(i18n, certificates.export)}
                        </button>
                        <button class="secondary big" data-testid="print-cert-report" on:click=print>
                            {t!(i18n, certificates.print)}
                        </button>
                    </div>
                    {move || saved.get().map(|p| view! {
                        <p class="saved no-print" role="status">
                            {t!(i18n, certificates.saved)}" "<code data-testid="export-saved">{p}</code>
                        </p>
                    })}
                </div>
            </Show>
        </section>
    }
}
