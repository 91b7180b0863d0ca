//! Settings (设置): this device's sync state, "sync now", and its enrolment with a sync server.
//!
//! Shown as a sheet over the current page (see [`crate::state`]), before or after sign-in: IT
//! enrols a tablet before anyone works on it. Enrolment takes the server address and the
//! one-time code IT printed, or the whole text of the enrolment QR code pasted into the code
//! field; the back end reads both forms, the UI only checks that something was typed. Or the QR
//! code is scanned: a photo from the tablet camera (or a picture of the code) goes to the back
//! end's `decode_qr`, and the address and code it holds fill the two fields, to check and submit.

use crate::api;
use crate::i18n::*;
use crate::messages::fill;
use crate::state::use_app;
use crate::time;
use crate::top_bar::connection;
use crate::widgets::{with_names, ErrorBanner};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::CommandError;
use ptw_core::sync::{is_server_url, split_enrol_qr, ENROL_QR_PREFIX};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;

/// The server address and the code in an enrolment QR text, when both are usable.
fn parse_qr(text: &str) -> Option<(String, String)> {
    let (url, code) = split_enrol_qr(text)?;
    (is_server_url(url) && !code.is_empty()).then(|| (url.to_owned(), code.to_owned()))
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
async fn file_bytes(file: web_sys::File) -> Result<Vec<u8>, JsValue> {
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

/// Enrolled or not, online or not, what waits to be sent, when the last round succeeded.
#[component]
fn SyncState() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let enrolled = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.server_configured));
    let pending = move || app.sync.with(|s| s.as_ref().map(|s| s.pending_changes).unwrap_or(0));
    let last_sync = move || match app.sync.with(|s| s.as_ref().and_then(|s| s.last_sync_ms)) {
        Some(ms) => time::show_ms(ms),
        None => t_string!(i18n, settings.never).to_owned(),
    };
    view! {
        <div class="card sync-state" data-testid="sync-state" data-enrolled=move || enrolled().to_string()>
            <h3>{t!(i18n, settings.sync_heading)}</h3>
            <dl class="facts">
                <dt>{t!(i18n, settings.server)}</dt>
                <dd data-testid="settings-server">
                    {move || {
                        if enrolled() { t_string!(i18n, settings.enrolled) } else { t_string!(i18n, settings.not_enrolled) }
                    }}
                </dd>
                <dt>{t!(i18n, settings.connection)}</dt>
                <dd data-testid="settings-connection">{move || connection(i18n.get_locale(), app).1}</dd>
                <dt>{t!(i18n, settings.pending)}</dt>
                <dd data-testid="settings-pending">
                    {move || fill(t_string!(i18n, settings.pending_count), &[("count", &pending())])}
                </dd>
                <dt>{t!(i18n, settings.last_sync)}</dt>
                <dd data-testid="settings-last-sync">{last_sync}</dd>
            </dl>
            <Show when=enrolled>
                <SyncNow/>
            </Show>
        </div>
    }
}

/// Asks the back end for a sync round now; the figures above change when it finishes.
#[component]
fn SyncNow() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let requested = RwSignal::new(false);
    let error = RwSignal::new(None::<CommandError>);
    let sync_now = move |_| {
        requested.set(false);
        error.set(None);
        spawn_local(async move {
            match api::sync_now().await {
                Ok(()) => requested.set(true),
                Err(e) => error.set(Some(e)),
            }
            app.refresh_sync();
        });
    };
    view! {
        <div class="sync-now">
            <ErrorBanner error=error/>
            <Show when=move || requested.get()>
                <p class="notice" data-testid="sync-requested">{t!(i18n, settings.sync_requested)}</p>
            </Show>
            <button class="primary big" data-testid="sync-now" on:click=sync_now>
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
    // Which fields were left empty at the last try (checked again on every edit).
    let url_missing = RwSignal::new(false);
    let code_missing = RwSignal::new(false);
    let error = RwSignal::new(None::<CommandError>);
    let busy = RwSignal::new(false);
    let done = RwSignal::new(false);
    // The QR scan: running, what it filled in, or why it did not.
    let scanning = RwSignal::new(false);
    let scanned = RwSignal::new(false);
    let scan_problem = RwSignal::new(None::<ScanProblem>);
    let enrolled = move || app.sync.with(|s| s.as_ref().is_some_and(|s| s.server_configured));

    let scan = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
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
                    Ok(text) => parse_qr(&text).ok_or(ScanProblem::NotEnrolment),
                    Err(e) => Err(ScanProblem::Failed(e)),
                },
            };
            match found {
                Ok((u, c)) => {
                    url.set(u);
                    code.set(c);
                    url_missing.set(false);
                    code_missing.set(false);
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
        // The QR text carries the address itself.
        let has_url = c.starts_with(ENROL_QR_PREFIX) || is_server_url(&u);
        url_missing.set(!has_url);
        code_missing.set(c.is_empty());
        if url_missing.get_untracked() || code_missing.get_untracked() {
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
                <label class="field">
                    <span class="label">{t!(i18n, settings.scan)}</span>
                    // On a tablet this opens the rear camera; elsewhere it picks a picture file.
                    <input
                        type="file"
                        accept="image/*"
                        capture="environment"
                        data-testid="enrol-scan"
                        disabled=move || scanning.get()
                        on:change=scan
                    />
                    <span class="hint" data-testid="enrol-scan-hint">
                        {move || {
                            if scanning.get() { t_string!(i18n, settings.scanning) } else { t_string!(i18n, settings.scan_hint) }
                        }}
                    </span>
                    {scan_problem_text}
                </label>
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
                            code.set(event_target_value(&ev));
                        }
                    />
                    {field_problem(code_missing, |l| td_string!(l, settings.code_missing))}
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
