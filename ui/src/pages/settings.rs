//! Settings (设置): this device's sync state, "sync now", and its enrolment with a sync server.
//!
//! Shown as a sheet over the current page (see [`crate::state`]), before or after sign-in: IT
//! enrols a tablet before anyone works on it. Enrolment takes the server address and the
//! one-time code IT printed, or the whole text of the enrolment QR code pasted into the code
//! field. Or the QR code is scanned: a photo from the tablet camera (or a picture of the code)
//! goes to the back end's `decode_qr`, and its text fills the code field and its address the
//! address field, to check and submit. A QR text is always sent whole, as the code: besides the
//! address and the code it carries the server's key and certificate fingerprint, which the back
//! end pins — the UI only reads the address out of it ([`EnrolQr::parse`]) to show it.
//!
//! The sync state shows what the person must act on: a revoked device, why the last round
//! failed, a clock not yet checked against the server's, permits whose changes would not apply,
//! and the actions the server refused (taken back on this device, to be redone).

use crate::api;
use crate::i18n::*;
use crate::messages::{fill, refusal_text, short_id, sync_failure_text};
use crate::state::use_app;
use crate::time;
use crate::top_bar::sync_state;
use crate::widgets::{with_names, ErrorBanner};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{CommandError, SyncFailure};
use ptw_core::sync::{is_server_url, EnrolQr, ENROL_QR_PREFIX};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

/// What an enrolment QR text says, when it is one and names a usable server address.
fn parse_qr(text: &str) -> Option<EnrolQr> {
    EnrolQr::parse(text).filter(|qr| is_server_url(&qr.url))
}

/// Why a scan filled nothing in.
#[derive(Clone, Debug, PartialEq)]
enum ScanProblem {
    /// The browser could not read the chosen file.
    FileUnreadable,
    /// The back end found no code in the picture, or could not read it.
    Failed(CommandError),
    /// A QR code, but not one `ptw-sync-server device enrol` printed.
    NotEnrolment,
}

/// The bytes of `file` (a photo just taken, or a picture chosen).
pub(crate) async fn file_bytes(file: web_sys::File) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(file.array_buffer()).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

#[component]
pub fn Settings() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    // Fresh figures on opening, not the last poll's.
    app.refresh_sync();
    view! {
        <section class="settings" data-testid="settings">
            <div class="page-head">
                <h2>{t!(i18n, settings.title)}</h2>
                <button class="secondary" data-testid="settings-back" on:click=move |_| app.close_settings()>
                    {t!(i18n, settings.back)}
                </button>
            </div>
            <SyncState/>
            <Enrolment/>
        </section>
    }
}

/// Enrolled or not, online or not, what waits to be sent, when the last round succeeded, and
/// what went wrong.
#[component]
fn SyncState() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let enrolled = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.server_configured));
    let revoked = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.revoked));
    // Only a device with a server has a clock to check against it.
    let time_unverified =
        move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.server_configured && !s.time_verified));
    let pending = move || app.sync.with(|s| s.as_ref().map(|s| s.pending_changes).unwrap_or(0));
    let quarantined = move || app.sync.with(|s| s.as_ref().map(|s| s.quarantined).unwrap_or(0));
    let last_sync = move || match app.sync.with(|s| s.as_ref().and_then(|s| s.last_sync_ms)) {
        Some(ms) => time::show_ms(ms),
        None => t_string!(i18n, settings.never).to_owned(),
    };
    let last_failure = move || {
        let failure = app.sync.with(|s| s.as_ref().and_then(|s| s.last_failure.clone()))?;
        // The revoked banner already says it, and what to do.
        if failure == SyncFailure::DeviceRevoked && revoked() {
            return None;
        }
        let text = sync_failure_text(i18n.get_locale(), &failure);
        Some(view! {
            <dt>{t!(i18n, settings.last_failure)}</dt>
            <dd class="failure" data-testid="settings-last-failure">{text}</dd>
        })
    };
    let quarantined_fact = move || {
        let count = quarantined();
        (count > 0).then(|| {
            view! {
                <dt>{t!(i18n, settings.quarantined)}</dt>
                <dd class="failure" data-testid="settings-quarantined">
                    {move || fill(t_string!(i18n, settings.quarantined_count), &[("count", &count)])}
                </dd>
            }
        })
    };
    let catalog_fact = move || {
        let seq = app.sync.with(|s| s.as_ref().and_then(|s| s.catalog_refused))?;
        Some(view! {
            <dt>{t!(i18n, settings.catalog_refused)}</dt>
            <dd class="failure" data-testid="settings-catalog-refused">
                {move || fill(t_string!(i18n, settings.catalog_refused_entry), &[("seq", &seq)])}
            </dd>
        })
    };
    view! {
        <div class="card sync-state" data-testid="sync-state" data-enrolled=move || enrolled().to_string()>
            <h3>{t!(i18n, settings.sync_heading)}</h3>
            <Show when=revoked>
                <p class="refusal revoked" role="alert" data-testid="settings-revoked">{t!(i18n, settings.revoked)}</p>
            </Show>
            <Show when=time_unverified>
                <p class="caution" data-testid="settings-time-unverified">{t!(i18n, settings.time_unverified)}</p>
            </Show>
            <dl class="facts">
                <dt>{t!(i18n, settings.server)}</dt>
                <dd data-testid="settings-server">
                    {move || {
                        if enrolled() { t_string!(i18n, settings.enrolled) } else { t_string!(i18n, settings.not_enrolled) }
                    }}
                </dd>
                <dt>{t!(i18n, settings.connection)}</dt>
                <dd data-testid="settings-connection">{move || sync_state(i18n.get_locale(), app).1}</dd>
                <dt>{t!(i18n, settings.pending)}</dt>
                <dd data-testid="settings-pending">
                    {move || fill(t_string!(i18n, settings.pending_count), &[("count", &pending())])}
                </dd>
                <dt>{t!(i18n, settings.last_sync)}</dt>
                <dd data-testid="settings-last-sync">{last_sync}</dd>
                {last_failure}
                {quarantined_fact}
                {catalog_fact}
            </dl>
            <RefusedActions/>
            <Show when=enrolled>
                <SyncNow/>
            </Show>
        </div>
    }
}

/// The changes the server refused, which this device took back: for each, the permit, when,
/// why and what to do — the person redoes the action on that permit.
#[component]
fn RefusedActions() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    move || {
        let refused = app.sync.with(|s| s.as_ref().map(|s| s.refused.clone()).unwrap_or_default());
        if refused.is_empty() {
            return None;
        }
        let l = i18n.get_locale();
        let rows = refused
            .into_iter()
            .map(|r| {
                let permit = fill(td_string!(l, settings.refused_permit), &[("permit", &short_id(&r.permit))]);
                view! {
                    <li class="refused-action" data-testid="refused-action">
                        <div class="refused-line">
                            <strong>{permit}</strong>
                            <span class="time">{time::show_ms(r.refused_ms)}</span>
                        </div>
                        <div class="refused-reason">{refusal_text(l, r.code)}</div>
                    </li>
                }
            })
            .collect_view();
        Some(view! {
            <div class="refused" data-testid="refused-actions">
                <h4>{td_string!(l, settings.refused_heading)}</h4>
                <p class="hint">{td_string!(l, settings.refused_hint)}</p>
                <ul class="refused-list">{rows}</ul>
            </div>
        })
    }
}

/// A sync round now: the button waits for the round and then says how it went — reached the
/// server, or why not, in words (the figures above change with it).
#[component]
fn SyncNow() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let running = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Option<SyncFailure>>);
    let error = RwSignal::new(None::<CommandError>);
    let sync_now = move |_| {
        if running.get_untracked() {
            return;
        }
        running.set(true);
        outcome.set(None);
        error.set(None);
        spawn_local(async move {
            match api::sync_now().await {
                Ok(status) => {
                    outcome.set(Some(status.last_failure.clone()));
                    app.sync.set(Some(status));
                }
                Err(e) => error.set(Some(e)),
            }
            running.set(false);
        });
    };
    let result = move || {
        let l = i18n.get_locale();
        outcome.get().map(|failure| match failure {
            None => view! { <p class="notice" role="status" data-testid="sync-done">{td_string!(l, settings.sync_done)}</p> }
                .into_any(),
            Some(f) => view! {
                <p class="refusal" role="alert" data-testid="sync-failed">
                    {fill(td_string!(l, settings.sync_failed), &[("reason", &sync_failure_text(l, &f))])}
                </p>
            }
            .into_any(),
        })
    };
    view! {
        <div class="sync-now">
            <ErrorBanner error=error/>
            {result}
            <Show when=move || running.get()>
                <p class="notice" role="status" data-testid="sync-running">{t!(i18n, settings.sync_running)}</p>
            </Show>
            <button class="primary big" data-testid="sync-now" disabled=move || running.get() on:click=sync_now>
                {t!(i18n, settings.sync_now)}
            </button>
        </div>
    }
}

/// The enrolment form: server address and one-time code (or the QR text).
#[component]
fn Enrolment() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let url = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    // Which fields were left empty (or held a broken QR text) at the last try (checked again on
    // every edit).
    let url_missing = RwSignal::new(false);
    let code_missing = RwSignal::new(false);
    let code_bad_qr = RwSignal::new(false);
    // A QR text in the code field names the address itself, so the address field only shows it.
    let qr_in_code = move || code.with(|c| parse_qr(c).is_some());
    let error = RwSignal::new(None::<CommandError>);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    // The QR scan: running, what it filled in, or why it did not.
    let scanning = RwSignal::new(false);
    let scanned = RwSignal::new(false);
    let scan_problem = RwSignal::new(None::<ScanProblem>);
    let enrolled = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.server_configured));
    // The file input's own button says "Choose File / no file selected" in the webview's
    // language: it stays hidden, and a button of ours opens it and says what was chosen.
    let scan_input = NodeRef::<leptos::html::Input>::new();
    let chosen_file = RwSignal::new(None::<String>);

    let scan = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        chosen_file.set(Some(file.name()));
        // Emptied, so that choosing the same picture again scans it again.
        input.set_value("");
        scanning.set(true);
        scanned.set(false);
        scan_problem.set(None);
        error.set(None);
        spawn_local(async move {
            let found = match file_bytes(file).await {
                Err(_) => Err(ScanProblem::FileUnreadable),
                Ok(bytes) => match api::decode_qr(&bytes).await {
                    Ok(text) => {
                        parse_qr(&text).map(|qr| (qr.url, text.trim().to_owned())).ok_or(ScanProblem::NotEnrolment)
                    }
                    Err(e) => Err(ScanProblem::Failed(e)),
                },
            };
            match found {
                Ok((u, text)) => {
                    url.set(u);
                    code.set(text);
                    url_missing.set(false);
                    code_missing.set(false);
                    code_bad_qr.set(false);
                    scanned.set(true);
                }
                Err(problem) => scan_problem.set(Some(problem)),
            }
            scanning.set(false);
        });
    };
    let scan_problem_text = move || {
        let locale = i18n.get_locale();
        scan_problem.get().map(|problem| {
            let text = match problem {
                ScanProblem::FileUnreadable => td_string!(locale, settings.scan_file_unreadable).to_owned(),
                ScanProblem::NotEnrolment => td_string!(locale, settings.scan_not_enrolment).to_owned(),
                ScanProblem::Failed(e) => {
                    with_names(locale, None, |n| crate::messages::error_text(n, &e)).unwrap_or_default()
                }
            };
            view! {
                <ul class="field-errors" role="alert" data-testid="enrol-scan-error">
                    <li>{text}</li>
                </ul>
            }
        })
    };

    let submit = move || {
        if busy.get_untracked() {
            return;
        }
        let (u, c) = (url.get_untracked().trim().to_owned(), code.get_untracked().trim().to_owned());
        // A QR text goes whole, as the code (the back end pins the key and fingerprint in it);
        // the address is the one it names.
        let qr = parse_qr(&c);
        let bad_qr = qr.is_none() && c.starts_with(ENROL_QR_PREFIX);
        let u = qr.map_or(u, |qr| qr.url);
        url_missing.set(!bad_qr && !is_server_url(&u));
        code_missing.set(c.is_empty());
        code_bad_qr.set(bad_qr);
        if url_missing.get_untracked() || code_missing.get_untracked() || bad_qr {
            return;
        }
        busy.set(true);
        done.set(false);
        scanned.set(false);
        error.set(None);
        spawn_local(async move {
            match api::enrol_device(u, c).await {
                Ok(()) => {
                    code.set(String::new());
                    done.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
            app.refresh_sync();
        });
    };
    let field_problem = move |missing: RwSignal<bool>, text: fn(Locale) -> &'static str| {
        move || {
            missing.get().then(|| {
                view! {
                    <ul class="field-errors">
                        <li>{text(i18n.get_locale())}</li>
                    </ul>
                }
            })
        }
    };

    view! {
        <div class="card enrolment">
            <h3>
                {move || {
                    if enrolled() { t_string!(i18n, settings.reenrol_heading) } else { t_string!(i18n, settings.enrol_heading) }
                }}
            </h3>
            <p class="hint">{t!(i18n, settings.enrol_hint)}</p>
            <ErrorBanner error=error/>
            <Show when=move || done.get()>
                <p class="notice" role="status" data-testid="enrol-done">{t!(i18n, settings.done)}</p>
            </Show>
            <form novalidate on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                <div class="field">
                    <span class="label" id="enrol-scan-label">{t!(i18n, settings.scan)}</span>
                    // On a tablet this opens the rear camera; elsewhere it picks a picture file.
                    <input
                        type="file"
                        class="hidden"
                        accept="image/*"
                        capture="environment"
                        data-testid="enrol-scan"
                        node_ref=scan_input
                        disabled=move || scanning.get()
                        on:change=scan
                    />
                    <div class="file-choice">
                        <button
                            type="button"
                            class="secondary big"
                            data-testid="enrol-scan-choose"
                            aria-describedby="enrol-scan-label"
                            disabled=move || scanning.get()
                            on:click=move |_| {
                                if let Some(input) = scan_input.get() {
                                    input.click();
                                }
                            }
                        >
                            {t!(i18n, settings.scan_choose)}
                        </button>
                        {move || {
                            chosen_file
                                .get()
                                .map(|name| {
                                    let text = fill(t_string!(i18n, settings.scan_chosen), &[("name", &name)]);
                                    view! { <span class="file-name" data-testid="enrol-scan-file">{text}</span> }
                                })
                        }}
                    </div>
                    <span class="hint" data-testid="enrol-scan-hint">
                        {move || {
                            if scanning.get() { t_string!(i18n, settings.scanning) } else { t_string!(i18n, settings.scan_hint) }
                        }}
                    </span>
                    {scan_problem_text}
                </div>
                <Show when=move || scanned.get()>
                    <p class="notice" role="status" data-testid="enrol-scanned">{t!(i18n, settings.scanned)}</p>
                </Show>
                <label class="field">
                    <span class="label">{t!(i18n, settings.url)}</span>
                    <input
                        type="text"
                        inputmode="url"
                        autocomplete="off"
                        autocapitalize="off"
                        spellcheck="false"
                        data-testid="enrol-url"
                        placeholder=move || t_string!(i18n, settings.url_placeholder)
                        readonly=qr_in_code
                        prop:value=move || url.get()
                        on:input=move |ev| {
                            url_missing.set(false);
                            url.set(event_target_value(&ev));
                        }
                    />
                    {field_problem(url_missing, |l| td_string!(l, settings.url_missing))}
                </label>
                <label class="field">
                    <span class="label">{t!(i18n, settings.code)}</span>
                    <input
                        type="text"
                        autocomplete="off"
                        autocapitalize="off"
                        spellcheck="false"
                        data-testid="enrol-code"
                        placeholder=move || t_string!(i18n, settings.code_placeholder)
                        prop:value=move || code.get()
                        on:input=move |ev| {
                            code_missing.set(false);
                            code_bad_qr.set(false);
                            let text = event_target_value(&ev);
                            // A pasted QR text fills in the address it names.
                            if let Some(qr) = parse_qr(&text) {
                                url_missing.set(false);
                                url.set(qr.url);
                            }
                            code.set(text);
                        }
                    />
                    {field_problem(code_missing, |l| td_string!(l, settings.code_missing))}
                    {field_problem(code_bad_qr, |l| td_string!(l, settings.code_bad_qr))}
                </label>
                <button type="submit" class="primary big wide" data-testid="enrol-submit" disabled=move || busy.get()>
                    {move || {
                        if busy.get() { t_string!(i18n, settings.submitting) } else { t_string!(i18n, settings.submit) }
                    }}
                </button>
            </form>
        </div>
    }
}
