//! Photos of the work (现场照片, R-PHOTO): the permit's photos by part of the work, each with who
//! took it, when (the event's trusted time, and the camera's own clock beside it), on which
//! device, and a flag when the same photo is on another permit; and taking one.
//!
//! A photo goes to the back end as the camera made it; it answers once the picture and its
//! thumbnail are on disk and signed into the permit, so a photo shown here is already safe.
//! Who may take one is ptw-core's rule (`PermitState::photo_refusal`).

use super::actions::ActionCtx;
use crate::api;
use crate::i18n::*;
use crate::messages::{fill, photo_phase_text};
use crate::state::Page;
use crate::time;
use crate::widgets::{with_names, Choice, Icon};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{CommandError, PermitView, PhotoFailure, PhotoReuse};
use ptw_core::derive::PhotoRecord;
use ptw_core::event::PhotoPhase;
use ptw_core::Status;
use web_sys::HtmlInputElement;

#[component]
pub fn PhotoCard(permit: PermitView, ctx: ActionCtx) -> impl IntoView {
    let i18n = use_i18n();
    let me = ctx.app.session.with_untracked(|s| s.as_ref().map(|s| s.person.id));
    let may_take = me.is_some_and(|me| permit.state.photo_refusal(me).is_none());
    if !may_take && permit.state.photos.is_empty() {
        return ().into_any();
    }
    // The part of the work the permit is at: before it starts, while it runs, once it is done.
    let phase = RwSignal::new(match permit.state.status {
        Status::Active | Status::Suspended => PhotoPhase::During,
        Status::Completed => PhotoPhase::After,
        _ => PhotoPhase::Before,
    });
    let input = NodeRef::<leptos::html::Input>::new();
    let taking = RwSignal::new(false);
    let taken = move |ev: leptos::ev::Event| {
        let element: HtmlInputElement = event_target(&ev);
        let Some(file) = element.files().and_then(|files| files.get(0)) else { return };
        element.set_value("");
        taking.set(true);
        let id = ctx.id;
        let chosen = phase.get_untracked();
        spawn_local(async move {
            match crate::pages::settings::file_bytes(file).await {
                Ok(bytes) => ctx.run_call("photo", async move { api::add_photo(id, chosen, &bytes).await }, || ()),
                Err(_) => ctx.error.set(Some(CommandError::Photo { failure: PhotoFailure::NotAPicture })),
            }
            taking.set(false);
        });
    };
    let reuse = permit.links.photo_reuse.clone();
    let gallery = permit
        .state
        .photos
        .iter()
        .map(|p| {
            let flags: Vec<PhotoReuse> = reuse.iter().filter(|r| r.photo == p.photo.blob).cloned().collect();
            view! { <PhotoTile photo=p.clone() reuse=flags/> }
        })
        .collect_view();
    let none = permit.state.photos.is_empty().then(|| view! { <p class="hint">{t!(i18n, photo.none)}</p> });
    let taker = may_take.then(|| {
        let choice = move |p: PhotoPhase| {
            view! {
                <Choice
                    chosen=Signal::derive(move || phase.get() == p)
                    testid=format!("photo-phase-{}", p.code())
                    on_pick=Callback::new(move |()| phase.set(p))
                >
                    {move || photo_phase_text(i18n.get_locale(), p)}
                </Choice>
            }
        };
        view! {
            <p class="hint">{t!(i18n, photo.hint)}</p>
            <div class="choices" role="radiogroup" data-testid="photo-phases">
                {PhotoPhase::ALL.into_iter().map(choice).collect_view()}
            </div>
            // On a tablet this opens the rear camera; elsewhere it picks a picture file.
            <input
                type="file"
                class="hidden"
                accept="image/*"
                capture="environment"
                data-testid="photo-input"
                node_ref=input
                on:change=taken
            />
            <button
                type="button"
                class="primary big wide"
                data-testid="photo-take"
                disabled=move || taking.get() || ctx.busy.get()
                on:click=move |_| {
                    if let Some(i) = input.get() {
                        i.click();
                    }
                }
            >
                <Icon name="camera"/>
                {move || if taking.get() { t!(i18n, photo.taking).into_any() } else { t!(i18n, photo.take).into_any() }}
            </button>
        }
    });
    view! {
        <details class="action-group photos" open=true data-testid="photos">
            <summary>{t!(i18n, photo.title)}</summary>
            <ul class="photo-gallery" data-testid="photo-gallery">{gallery}</ul>
            {none}
            {taker}
        </details>
    }
    .into_any()
}

/// One photo: its thumbnail (tap for the full picture), what it shows, who took it when and
/// where, and whether it is on another permit too.
#[component]
fn PhotoTile(photo: PhotoRecord, reuse: Vec<PhotoReuse>) -> impl IntoView {
    let i18n = use_i18n();
    let app = crate::state::use_app();
    let thumb = RwSignal::new(None::<Result<String, CommandError>>);
    let full = RwSignal::new(None::<Result<String, CommandError>>);
    let hash = photo.photo.thumbnail.clone();
    spawn_local(async move { thumb.set(Some(api::blob_image(&hash).await)) });
    let blob = photo.photo.blob.clone();
    let open = move |_| {
        let blob = blob.clone();
        spawn_local(async move { full.set(Some(api::blob_image(&blob).await)) });
    };
    let locale = i18n.get_locale_untracked();
    let who = with_names(locale, None, |n| n.person(photo.by)).unwrap_or_default();
    let taken = fill(td_string!(locale, photo.taken), &[("person", &who), ("at", &time::show_ms(photo.at_ms))]);
    let camera = photo.photo.camera_time.clone().map(|t| fill(td_string!(locale, photo.camera_time), &[("at", &t)]));
    let device = photo.device.to_string();
    let short: String = device.chars().take(8).collect();
    let device = fill(td_string!(locale, photo.device), &[("device", &short)]);
    let unverified =
        (!photo.time_verified).then(|| view! { <span class="chip frozen">{t!(i18n, photo.unverified)}</span> });
    let flags = reuse
        .into_iter()
        .map(|r| {
            let text = if r.same_bytes {
                fill(td_string!(locale, photo.reused_same), &[("number", &r.other.number)])
            } else {
                fill(td_string!(locale, photo.reused_near), &[("number", &r.other.number)])
            };
            let other = r.other.id;
            view! {
                <button
                    type="button"
                    class="chip frozen photo-reused"
                    data-testid="photo-reused"
                    data-other=r.other.number.clone()
                    data-same=r.same_bytes.to_string()
                    on:click=move |_| app.page.set(Page::Detail(other))
                >
                    {text}
                </button>
            }
        })
        .collect_view();
    let phase = photo.photo.phase;
    view! {
        <li class="photo-tile" data-testid="photo" data-phase=phase.code() data-blob=photo.photo.blob.clone()>
            {move || match thumb.get() {
                None => view! { <div class="photo-thumb loading-thumb"></div> }.into_any(),
                Some(Ok(url)) => view! {
                    <button type="button" class="photo-thumb" data-testid="photo-open" aria-label=move || t_string!(i18n, photo.open) on:click=open.clone()>
                        <img src=url alt=move || photo_phase_text(i18n.get_locale(), phase) data-testid="photo-thumb"/>
                    </button>
                }
                .into_any(),
                Some(Err(CommandError::Photo { .. })) => view! {
                    <div class="photo-thumb missing" data-testid="photo-damaged">{t!(i18n, photo.damaged)}</div>
                }
                .into_any(),
                Some(Err(_)) => view! { <div class="photo-thumb missing" data-testid="photo-missing">{t!(i18n, photo.missing)}</div> }.into_any(),
            }}
            <div class="photo-caption">
                <strong>{move || photo_phase_text(i18n.get_locale(), phase)}</strong>
                <span>{taken}</span>
                {camera.map(|c| view! { <span class="hint">{c}</span> })}
                <span class="hint">{device}</span>
                {unverified}
                {flags}
            </div>
            {move || full.get().map(|shown| view! {
                <div class="photo-full" data-testid="photo-full" role="dialog">
                    {match shown {
                        Ok(url) => view! { <img src=url alt=move || photo_phase_text(i18n.get_locale(), phase)/> }.into_any(),
                        Err(CommandError::Photo { .. }) => view! { <p class="notice">{t!(i18n, photo.damaged)}</p> }.into_any(),
                        Err(_) => view! { <p class="notice">{t!(i18n, photo.missing)}</p> }.into_any(),
                    }}
                    <button type="button" class="secondary big" data-testid="photo-close" on:click=move |_| full.set(None)>
                        {t!(i18n, photo.close)}
                    </button>
                </div>
            })}
        </li>
    }
}
