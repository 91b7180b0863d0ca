//! Photos (R-PHOTO): the camera's bytes come in raw (not as JSON numbers), are prepared off the
//! store's lock — turned upright, shrunk, thumbnailed (ptw-media) — and then kept and signed
//! into the permit in one go; pictures go back to the window as data URLs.

use crate::commands::{lock, present, signed_in, to_command_error, AppState, Reply};
use base64::Engine as _;
use ptw_core::api::{CommandError, PermitView, PhotoFailure};
use ptw_core::event::PhotoPhase;
use ptw_core::PermitId;
use ptw_media::MediaError;
use tauri::ipc::{InvokeBody, Request};
use tauri::State;

/// The request header naming the permit a photo is for.
pub const PERMIT_HEADER: &str = "x-openptw-permit";
/// The request header naming the part of the work it shows (`PhotoPhase::code`).
pub const PHASE_HEADER: &str = "x-openptw-phase";

pub(crate) fn photo_error(e: MediaError) -> CommandError {
    CommandError::Photo {
        failure: match e {
            MediaError::NotAPicture => PhotoFailure::NotAPicture,
            MediaError::TooLarge { .. } => PhotoFailure::TooLarge,
            MediaError::Broken(_) => PhotoFailure::Broken,
            MediaError::BlankSignature => PhotoFailure::BlankSignature,
        },
    }
}

fn header<'a>(request: &'a Request<'_>, name: &str) -> Reply<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CommandError::BadInput { message: format!("the photo came without its {name} header") })
}

/// A photo for permit `x-openptw-permit` showing `x-openptw-phase`, its bytes the request's raw
/// body. Answers the permit with the photo on it; nothing is kept when it is refused.
#[tauri::command]
pub async fn add_photo(state: State<'_, AppState>, request: Request<'_>) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    let permit: PermitId = header(&request, PERMIT_HEADER)?
        .parse()
        .map_err(|_| CommandError::BadInput { message: "the photo's permit is not a permit id".into() })?;
    let phase = PhotoPhase::from_code(header(&request, PHASE_HEADER)?)
        .ok_or_else(|| CommandError::BadInput { message: "the photo's phase is not one the app knows".into() })?;
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::Photo { failure: PhotoFailure::NotAPicture });
    };
    lock(&state.store)?.may_add_photo(actor, permit, crate::clock::now()).map_err(to_command_error)?;
    // Decoding a 12-megapixel photo takes a moment: on a thread of its own, the store unlocked.
    let bytes = bytes.clone();
    let prepared = tauri::async_runtime::spawn_blocking(move || ptw_media::prepare_photo(&bytes))
        .await
        .map_err(|_| CommandError::Internal { message: "preparing the photo crashed".into() })?
        .map_err(photo_error)?;
    let store = &mut *lock(&state.store)?;
    let view = store.attach_photo(actor, permit, phase, &prepared, crate::clock::now()).map_err(to_command_error)?;
    let view = present(store, view, Some(actor))?;
    state.sync.wake();
    Ok(view)
}

/// The photo, thumbnail or signature image named `hash`, as a data URL: this device's copy, or
/// fetched from the sync server (checked against its hash) when this device has none yet.
/// `NotFound` when neither has it.
#[tauri::command(async, rename_all = "snake_case")]
pub fn blob_image(state: State<AppState>, hash: String) -> Reply<String> {
    signed_in(&state)?;
    let (here, fetcher) = {
        let store = &mut *lock(&state.store)?;
        match store.blob(&hash).map_err(to_command_error)? {
            Some(found) => (Some(found), None),
            None if store.sync_server().map_err(to_command_error)?.is_some() => {
                (None, Some(store.blob_fetcher().map_err(to_command_error)?))
            }
            None => (None, None),
        }
    };
    let found = match (here, fetcher) {
        (Some(found), _) => Some(found),
        (None, Some(fetcher)) => {
            // Fetched with the store unlocked (the rest of the app goes on meanwhile), on a
            // thread of its own: the HTTP client blocks, and may not run on the async runtime's.
            let fetched = std::thread::scope(|s| s.spawn(|| fetcher.fetch(&hash)).join())
                .map_err(|_| CommandError::Internal { message: "fetching the picture crashed".into() })?
                .map_err(to_command_error)?;
            if let Some((mime, bytes)) = &fetched {
                lock(&state.store)?
                    .keep_fetched_blob(&hash, mime, bytes, crate::clock::now())
                    .map_err(to_command_error)?;
            }
            fetched
        }
        (None, None) => None,
    };
    let (mime, bytes) = found.ok_or(CommandError::NotFound { what: format!("picture {hash}") })?;
    // What the event names is the hash: bytes that no longer match it (a damaged or altered
    // file on this device) are not shown as if they were the picture signed.
    if ptw_core::sync::blob_hash(&bytes) != hash {
        return Err(CommandError::Photo { failure: PhotoFailure::Broken });
    }
    Ok(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// A handwritten signature drawn on the pad, as the canvas gives it (`data:image/png;base64,…`):
/// checked (a PNG with a stroke on it), kept, and named by its hash for [`act_signed`].
#[tauri::command(rename_all = "snake_case")]
pub fn put_signature(state: State<AppState>, data_url: String) -> Reply<String> {
    signed_in(&state)?;
    let png = data_url
        .strip_prefix("data:image/png;base64,")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .ok_or(CommandError::Photo { failure: PhotoFailure::NotAPicture })?;
    lock(&state.store)?.put_signature(&png, crate::clock::now()).map_err(to_command_error)
}

/// [`crate::commands::act`] with the signer's handwritten signature (`handwriting`, from
/// [`put_signature`]) bound into the signed event.
#[tauri::command(rename_all = "snake_case")]
pub fn act_signed(
    state: State<AppState>,
    permit_id: PermitId,
    action: ptw_core::api::Action,
    handwriting: String,
) -> Reply<PermitView> {
    let actor = signed_in(&state)?;
    let store = &mut *lock(&state.store)?;
    let view =
        store.act_signed(actor, permit_id, action, Some(handwriting), crate::clock::now()).map_err(to_command_error)?;
    let view = present(store, view, Some(actor))?;
    state.sync.wake();
    Ok(view)
}
