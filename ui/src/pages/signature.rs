//! Handwritten signatures (手写签名, R-SIGN): a pad to sign on with a finger or a stylus (pointer
//! events, so mouse, touch and pen alike), and a signature as the permit shows it — the image,
//! checked against its hash by the back end, marked broken when the form it was drawn over is
//! no longer the permit's form of record.
//!
//! A signing step sends the pad's PNG first (`put_signature`, which answers its hash), then the
//! action with that hash (`act_signed`): the event signs the image's hash together with the
//! hash of the content signed.

use super::actions::ActionCtx;
use crate::api;
use crate::i18n::*;
use crate::widgets::Icon;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{Action, CommandError};
use ptw_core::derive::Handwritten;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// The pad's drawing surface, in canvas pixels (shown at the card's width).
const PAD_WIDTH: u32 = 720;
const PAD_HEIGHT: u32 = 240;

/// A signature pad's state, shared by the pad and the buttons that sign with it.
#[derive(Clone, Copy)]
pub struct Pad {
    canvas: NodeRef<leptos::html::Canvas>,
    drawn: RwSignal<bool>,
    drawing: RwSignal<bool>,
}

impl Pad {
    pub fn new() -> Pad {
        Pad { canvas: NodeRef::new(), drawn: RwSignal::new(false), drawing: RwSignal::new(false) }
    }

    fn context(&self) -> Option<(HtmlCanvasElement, CanvasRenderingContext2d)> {
        let canvas: HtmlCanvasElement = self.canvas.get_untracked()?;
        let ctx = canvas.get_context("2d").ok()??.dyn_into::<CanvasRenderingContext2d>().ok()?;
        Some((canvas, ctx))
    }

    /// The drawing as a PNG data URL, when something is drawn.
    fn png(&self) -> Option<String> {
        if !self.drawn.get_untracked() {
            return None;
        }
        self.context()?.0.to_data_url_with_type("image/png").ok()
    }

    fn clear(&self) {
        if let Some((canvas, ctx)) = self.context() {
            ctx.clear_rect(0.0, 0.0, f64::from(canvas.width()), f64::from(canvas.height()));
        }
        self.drawn.set(false);
    }

    /// Where a pointer event falls on the canvas, in its own pixels.
    fn point(&self, ev: &web_sys::PointerEvent) -> Option<(f64, f64)> {
        let (canvas, _) = self.context()?;
        let rect = canvas.get_bounding_client_rect();
        if rect.width() <= 0.0 || rect.height() <= 0.0 {
            return None;
        }
        let x = (f64::from(ev.client_x()) - rect.left()) * f64::from(canvas.width()) / rect.width();
        let y = (f64::from(ev.client_y()) - rect.top()) * f64::from(canvas.height()) / rect.height();
        Some((x, y))
    }

    /// Sign `action` on `ctx`'s permit: with the drawing when there is one, else as before.
    pub fn sign(self, ctx: ActionCtx, action: Action, then: impl FnOnce() + 'static) {
        let Some(png) = self.png() else { return ctx.run(action, then) };
        let id = ctx.id;
        let pad = self;
        ctx.run_call(
            super::actions::action_code(&action),
            async move {
                let hash = api::put_signature(&png).await?;
                api::act_signed(id, &action, &hash).await
            },
            move || {
                pad.clear();
                then();
            },
        );
    }
}

/// The pad: draw with a finger, stylus or mouse; "clear" starts again.
#[component]
pub fn SignaturePad(pad: Pad) -> impl IntoView {
    let i18n = use_i18n();
    let down = move |ev: web_sys::PointerEvent| {
        let Some((x, y)) = pad.point(&ev) else { return };
        ev.prevent_default();
        if let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
            let _ = target.set_pointer_capture(ev.pointer_id());
        }
        if let Some((_, ctx)) = pad.context() {
            ctx.set_line_width(4.0);
            ctx.set_line_cap("round");
            ctx.set_line_join("round");
            ctx.set_stroke_style_str("#101828");
            ctx.begin_path();
            ctx.move_to(x, y);
            // A dot for a tap.
            ctx.line_to(x + 0.1, y + 0.1);
            ctx.stroke();
            pad.drawing.set(true);
            pad.drawn.set(true);
        }
    };
    let moved = move |ev: web_sys::PointerEvent| {
        if !pad.drawing.get_untracked() {
            return;
        }
        let (Some((x, y)), Some((_, ctx))) = (pad.point(&ev), pad.context()) else { return };
        ev.prevent_default();
        ctx.line_to(x, y);
        ctx.stroke();
    };
    let up = move |_: web_sys::PointerEvent| pad.drawing.set(false);
    view! {
        <div class="signature-pad" data-testid="signature-pad">
            <span class="label">{t!(i18n, signature.pad)}</span>
            <canvas
                width=PAD_WIDTH
                height=PAD_HEIGHT
                data-testid="signature-canvas"
                aria-label=move || t_string!(i18n, signature.pad)
                node_ref=pad.canvas
                on:pointerdown=down
                on:pointermove=moved
                on:pointerup=up
                on:pointercancel=up
                on:pointerleave=up
            ></canvas>
            <div class="signature-pad-foot">
                <span class="hint">
                    {move || if pad.drawn.get() { t!(i18n, signature.drawn).into_any() } else { t!(i18n, signature.hint).into_any() }}
                </span>
                <button type="button" class="secondary big" data-testid="signature-clear" disabled=move || !pad.drawn.get() on:click=move |_| pad.clear()>
                    <Icon name="eraser"/>
                    {t!(i18n, signature.clear)}
                </button>
            </div>
        </div>
    }
}

/// A handwritten signature on the permit: the image (checked against its hash by the back
/// end), or why it cannot be shown; "broken" when the form it was drawn over has changed since.
#[component]
pub fn HandwrittenImage(handwritten: Handwritten, broken: bool) -> impl IntoView {
    let i18n = use_i18n();
    let image = RwSignal::new(None::<Result<String, CommandError>>);
    let hash = handwritten.image.clone();
    spawn_local(async move { image.set(Some(api::blob_image(&hash).await)) });
    view! {
        <div class="handwritten" class:broken=broken data-testid="handwritten" data-broken=broken.to_string()>
            {move || match image.get() {
                None => ().into_any(),
                Some(Ok(url)) => view! {
                    <img src=url alt=move || t_string!(i18n, signature.image) data-testid="handwritten-image"/>
                }
                .into_any(),
                Some(Err(CommandError::Photo { .. })) => view! {
                    <span class="chip frozen" data-testid="handwritten-damaged">{t!(i18n, signature.damaged)}</span>
                }
                .into_any(),
                Some(Err(_)) => view! {
                    <span class="hint" data-testid="handwritten-missing">{t!(i18n, signature.missing)}</span>
                }
                .into_any(),
            }}
            {broken.then(|| view! {
                <span class="chip frozen" data-testid="handwritten-broken">
                    <Icon name="triangle-alert"/>
                    {t!(i18n, signature.broken)}
                </span>
            })}
        </div>
    }
}
