//! Small pieces several pages use: icons, the status badge, the work-type pictogram, the
//! refusal banner, the loading line.

use crate::i18n::*;
use crate::icons;
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

/// Enter in a one-line text field moves on to the next text field (one-line or not) inside the
/// element the handler is on, as a tablet keyboard's "next" key does (`enterkeyhint="next"`),
/// instead of submitting anything; selects, buttons and checkboxes are skipped. Enter while an
/// input method is composing (pinyin) belongs to the input method and is left alone.
pub fn enter_moves_on(ev: leptos::ev::KeyboardEvent) {
    use wasm_bindgen::JsCast;
    if ev.key() != "Enter" || ev.is_composing() {
        return;
    }
    let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
    ev.prevent_default();
    let Some(scope) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
    let Ok(fields) = scope.query_selector_all("input[type=text]:not([disabled]), textarea:not([disabled])") else {
        return;
    };
    let target: &web_sys::Node = target.as_ref();
    let next = (0..fields.length())
        .filter_map(|i| fields.item(i))
        .skip_while(|f| !f.is_same_node(Some(target)))
        .nth(1)
        .and_then(|f| f.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(next) = next {
        let _ = next.focus();
    }
}

/// An icon of the set in `icons` (its Lucide name), drawn inline in `currentColor` and hidden
/// from screen readers: whatever it stands for is said in words beside it. `data-icon` names it,
/// so a test can tell which symbol is shown.
#[component]
pub fn Icon(#[prop(into)] name: Signal<&'static str>, #[prop(optional)] class: &'static str) -> impl IntoView {
    view! {
        <span
            class=if class.is_empty() { "icon".to_owned() } else { format!("icon {class}") }
            data-icon=move || name.get()
            aria-hidden="true"
            inner_html=move || icons::svg(name.get())
        ></span>
    }
}

/// While something loads: a turning ring for the eye and the words for a screen reader (and
/// for anyone who waits long enough to read them).
/// One option of a one-tap choice (the buttons of a `role="radiogroup"`: a type, a grade, a
/// sub-type, yes / no…): chosen or not, and what a tap picks.
#[component]
pub fn Choice(
    #[prop(into)] chosen: Signal<bool>,
    testid: String,
    on_pick: Callback<()>,
    /// A big tile (the work types) rather than a button in a row.
    #[prop(optional)]
    tile: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <button
            type="button"
            role="radio"
            class=if tile { "choice tile" } else { "choice" }
            class:chosen=move || chosen.get()
            aria-checked=move || chosen.get().to_string()
            data-testid=testid
            on:click=move |_| on_pick.run(())
        >
            {children()}
        </button>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="loading" role="status" data-testid="loading">
            <Icon name="loader-circle" class="spinner"/>
            <span class="loading-text">{t!(i18n, loading)}</span>
        </p>
    }
}

/// A status in words, its colour and its own symbol (`icons::status`), so that two statuses
/// never differ by colour alone.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<Status>, #[prop(optional)] testid: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span
            class=move || format!("badge status-badge status-{}", status.get().code())
            data-testid=if testid.is_empty() { "status-badge" } else { testid }
            data-status=move || status.get().code()
        >
            <Icon name=Signal::derive(move || icons::status(status.get())) class="badge-icon"/>
            <span class="badge-text">{move || messages::status_text(i18n.get_locale(), status.get())}</span>
        </span>
    }
}

/// The pictogram of a permit's work type (the catalog's type code): a symbol on a coloured tile,
/// the same on the list and on the permit. The type's name is written beside it.
#[component]
pub fn WorkTypeIcon(permit_type: String, #[prop(optional)] testid: &'static str) -> impl IntoView {
    let class = format!("pictogram {}", icons::work_type_class(&permit_type));
    view! {
        <span class=class data-testid=if testid.is_empty() { "work-type-icon" } else { testid } data-work-type=permit_type.clone()>
            <Icon name=icons::work_type(&permit_type)/>
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

/// A QR code of `text`, drawn by the back end as SVG (black on white, printable).
#[component]
pub fn QrImage(text: String, #[prop(optional)] testid: &'static str) -> impl IntoView {
    let svg = RwSignal::new(String::new());
    let code = text.clone();
    leptos::task::spawn_local(async move {
        if let Ok(s) = crate::api::qr_svg(code).await {
            svg.set(s);
        }
    });
    view! { <div class="qr-image" data-testid=testid data-text=text inner_html=move || svg.get()></div> }
}

/// A PIN field: digits on a tablet's number pad, never shown, and the focus when it opens, so
/// the pad is up at once. Typing clears `error`.
#[component]
pub fn PinInput(value: RwSignal<String>, error: RwSignal<Option<CommandError>>, testid: &'static str) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(i) = input.get() {
            let _ = i.focus();
        }
    });
    view! {
        <input
            type="password"
            inputmode="numeric"
            pattern="[0-9]*"
            autocomplete="off"
            class="pin"
            data-testid=testid
            node_ref=input
            prop:value=move || value.get()
            on:input=move |ev| {
                error.set(None);
                value.set(event_target_value(&ev));
            }
        />
    }
}
