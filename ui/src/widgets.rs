//! Small pieces several pages use: status badge, refusal banner, loading line.

use crate::i18n::*;
use crate::messages::{self, Names};
use crate::state::use_app;
use leptos::prelude::*;
use ptw_core::api::CommandError;
use ptw_core::Status;

/// Runs `f` with the names of data in the current language, once the directory is loaded.
/// `permit` = (type, grade) of the permit in question, for step and precaution names.
pub fn with_names<R>(locale: Locale, permit: Option<(&str, &str)>, f: impl FnOnce(&Names) -> R) -> Option<R> {
    let app = use_app();
    app.directory.with(|d| {
        d.as_ref().map(|d| {
            let names = match permit {
                Some((t, g)) => Names::for_permit(d, locale, t, g),
                None => Names::new(d, locale),
            };
            f(&names)
        })
    })
}

#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! { <p class="loading">{t!(i18n, loading)}</p> }
}

#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<Status>, #[prop(optional)] testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span
            class=move || format!("badge status-{}", status.get().code())
            data-testid=if testid.is_empty() { "status-badge" } else { testid }
        >
            {move || messages::status_text(i18n.get_locale(), status.get())}
        </span>
    }
}

/// The banner that says why the last action failed; for a refusal, the rule in words.
/// `permit` gives the type and grade for step names.
#[component]
pub fn ErrorBanner(
    error: RwSignal<Option<CommandError>>,
    #[prop(into, optional)] permit: Signal<Option<(String, String)>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let err = error.get()?;
        let refused = matches!(err, CommandError::Refused { .. });
        let text = {
            let permit = permit.get();
            let permit = permit.as_ref().map(|(t, g)| (t.as_str(), g.as_str()));
            with_names(i18n.get_locale(), permit, |n| messages::error_text(n, &err)).unwrap_or_default()
        };
        let heading = if refused { t_string!(i18n, banner.refused) } else { t_string!(i18n, banner.failed) };
        Some(view! {
            <div class="refusal" role="alert" data-testid="refusal">
                <div class="refusal-text">
                    <strong>{heading}</strong>
                    <span data-testid="refusal-rule">{text}</span>
                </div>
                <button class="close" data-testid="refusal-close" on:click=move |_| error.set(None)>
                    {t!(i18n, banner.close)}
                </button>
            </div>
        })
    }
}
