//! The permit form: a new permit or a draft being edited.
//!
//! Every choice comes from the directory (types, sub-types, grades, the type's own fields,
//! checklist and flow from the catalog; people by role; locations from the register). The form is validated in the browser with the
//! same `PermitForm::validate` the back end's submit rule runs, so the messages under the
//! fields are the ones that would refuse the submit; they appear after the first attempt.
//!
//! The planned times are chosen with the app's own picker ([`crate::datetime`]), in the plant's
//! zone. The free-text fields stop at a length (with a counter beside them), and leaving the
//! form with changes not saved asks first, in the app's own dialog, whether to discard them.

use crate::api;
use crate::datetime::DateTimeField;
use crate::i18n::*;
use crate::messages::{self, fill, GradeWhy};
use crate::state::{registry, use_app, Page};
use crate::time;
use crate::widgets::{enter_moves_on, with_names, Choice, ErrorBanner, Loading, WorkTypeIcon};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::{Action, CommandError, Directory};
use ptw_core::catalog::{FieldDef, FieldKind, Role, SignMode};
use ptw_core::form::{Field, FieldError, FieldProblem};
use ptw_core::{FieldValue, PermitForm, PermitId, PersonId};
use std::str::FromStr;
use std::sync::Arc;

/// The default planned window: from now, this long.
const DEFAULT_WINDOW_MINUTES: i64 = 4 * 60;

/// How long the free-text fields may be, in UTF-16 units (what `maxlength` counts; one per
/// Chinese character). ptw-core sets no limit: these keep a permit readable on a tablet and
/// on paper. A longer text from elsewhere is kept as it is; its counter shows it over.
const TITLE_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 2000;
const HAZARDS_MAX: usize = 2000;

/// A new form: no type or grade chosen yet (each is one tap, and a default would be filed
/// unread), planned now → now + 4 h, filed by the signed-in person (the back end forces that
/// anyway).
fn new_form(applicant: Option<PersonId>) -> PermitForm {
    let start = time::this_minute();
    PermitForm {
        planned_start: Some(start),
        planned_end: Some(start + chrono::Duration::minutes(DEFAULT_WINDOW_MINUTES)),
        applicant,
        ..PermitForm::default()
    }
}

/// Loads what the form starts from (a new form, or the draft), then shows it.
#[component]
pub fn PermitFormPage(editing: Option<PermitId>) -> impl IntoView {
    let app = use_app();
    let initial = RwSignal::new(None::<PermitForm>);
    let error = RwSignal::new(None::<CommandError>);
    match editing {
        Some(id) => spawn_local(async move {
            match api::get_permit(id).await {
                Ok(view) => initial.set(Some(view.form)),
                Err(e) => error.set(Some(e)),
            }
        }),
        None => {
            Effect::new(move |_| {
                if initial.with_untracked(Option::is_none) && app.directory.with(Option::is_some) {
                    let me = app.session.with_untracked(|s| s.as_ref().map(|s| s.person.id));
                    initial.set(Some(new_form(me)));
                }
            });
        }
    }
    move || match (initial.get(), app.directory.get()) {
        (Some(form), Some(dir)) => view! { <FormBody initial=form dir=dir editing=editing/> }.into_any(),
        _ => view! { <ErrorBanner error=error/> <Loading/> }.into_any(),
    }
}

/// The messages for one field, shown once the person has tried to submit.
#[component]
fn FieldErrors(
    field: Field,
    errors: Memo<Vec<FieldError>>,
    show: RwSignal<bool>,
    form: RwSignal<PermitForm>,
) -> impl IntoView {
    let i18n = use_i18n();
    let testid = format!("error-{}", field_slug(field));
    move || {
        if !show.get() {
            return None;
        }
        let mine: Vec<FieldError> = errors.with(|e| e.iter().filter(|e| e.field == field).cloned().collect());
        if mine.is_empty() {
            return None;
        }
        let (t, g) = form.with(|f| (f.permit_type.clone(), f.grade.clone()));
        let texts = with_names(i18n.get_locale(), Some((&t, &g)), |n| {
            mine.iter().map(|e| messages::field_problem_text(n, &e.problem)).collect::<Vec<_>>()
        })
        .unwrap_or_default();
        Some(view! {
            <ul class="field-errors" data-testid=testid.clone()>
                {texts.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}
            </ul>
        })
    }
}

/// `Field::PlannedStart` → `planned-start`, for test ids.
fn field_slug(field: Field) -> String {
    let json = serde_json::to_value(field).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    json.replace('_', "-")
}

/// A big checkbox row (the whole row is the touch target); with `radio`, one of a group of
/// rows of which only one is chosen (the guardian).
#[component]
fn CheckRow(
    #[prop(into)] checked: Signal<bool>,
    on_toggle: Callback<bool>,
    testid: String,
    #[prop(optional)] radio: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <label class="check-row">
            <input
                type=if radio.is_some() { "radio" } else { "checkbox" }
                name=radio
                data-testid=testid
                prop:checked=move || checked.get()
                on:change=move |ev| on_toggle.run(event_target_checked(&ev))
            />
            <span>{children()}</span>
        </label>
    }
}

/// The code a problem of one of the type's own fields names, if it names one.
fn detail_code(problem: &FieldProblem) -> Option<&str> {
    match problem {
        FieldProblem::DetailRequired { code }
        | FieldProblem::DetailOutOfRange { code, .. }
        | FieldProblem::DetailInvalid { code }
        | FieldProblem::DetailUnknown { code } => Some(code),
        _ => None,
    }
}

/// One of the type's own fields: a number with its unit (the decimal keypad, not
/// `type="number"`, whose parsing follows the webview's locale), a line of text, a choice, or
/// yes/no. A number or yes/no that grades the permit proposes the grade as it changes.
#[component]
fn DetailInput(
    def: FieldDef,
    form: RwSignal<PermitForm>,
    registry: Arc<ptw_core::Registry>,
    errors: Memo<Vec<FieldError>>,
    show: RwSignal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.get_locale().as_str();
    let code = def.code.clone();
    let testid = format!("detail-{}", def.code);
    let set = {
        let code = code.clone();
        move |value: Option<FieldValue>| {
            form.update(|f| {
                match value {
                    Some(v) => f.details.insert(code.clone(), v),
                    None => f.details.remove(&code),
                };
                propose_grade(f, &registry);
            })
        }
    };
    let current = {
        let code = code.clone();
        move || form.with(|f| f.details.get(&code).cloned())
    };
    let name = def.name.clone();
    let label = move || name.get(lang()).to_owned();
    let source = def.source.clone();
    let problems = {
        let code = code.clone();
        move || {
            if !show.get() {
                return None;
            }
            let mine: Vec<FieldProblem> = errors.with(|e| {
                e.iter().filter(|e| detail_code(&e.problem) == Some(code.as_str())).map(|e| e.problem.clone()).collect()
            });
            if mine.is_empty() {
                return None;
            }
            let (t, g) = form.with(|f| (f.permit_type.clone(), f.grade.clone()));
            let texts = with_names(i18n.get_locale(), Some((&t, &g)), |n| {
                mine.iter().map(|p| messages::field_problem_text(n, p)).collect::<Vec<_>>()
            })
            .unwrap_or_default();
            Some(view! {
                <ul class="field-errors" data-testid=format!("error-detail-{code}")>
                    {texts.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}
                </ul>
            })
        }
    };
    let input = match def.kind.clone() {
        FieldKind::Number { unit, .. } => {
            // What the person typed, kept as typed ("12." while typing 12.5); the form holds
            // the number it reads as.
            let typed = RwSignal::new(current().and_then(|v| v.as_number()).map(|v| v.to_string()).unwrap_or_default());
            view! {
                <span class="with-unit">
                    <input
                        type="text"
                        inputmode="decimal"
                        enterkeyhint="next"
                        data-testid=testid.clone()
                        prop:value=move || typed.get()
                        on:input=move |ev| {
                            let text = event_target_value(&ev);
                            typed.set(text.clone());
                            let t = text.trim().replace(',', ".");
                            set(if t.is_empty() {
                                None
                            } else {
                                // Not a number: kept as text, so the form says it is invalid.
                                Some(t.parse::<f64>().map(FieldValue::Number).unwrap_or(FieldValue::Text(t)))
                            })
                        }
                    />
                    <span class="unit">{unit}</span>
                </span>
            }
            .into_any()
        }
        FieldKind::Text { max_chars } => view! {
            <input
                type="text"
                maxlength=max_chars
                enterkeyhint="next"
                data-testid=testid.clone()
                prop:value=move || match current() {
                    Some(FieldValue::Text(t)) => t,
                    _ => String::new(),
                }
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    set((!text.is_empty()).then_some(FieldValue::Text(text)))
                }
            />
        }
        .into_any(),
        FieldKind::Choice { options } => {
            let buttons = options
                .into_iter()
                .map(|o| {
                    let (set, current) = (set.clone(), current.clone());
                    let value = FieldValue::Text(o.code.clone());
                    let picked = value.clone();
                    view! {
                        <Choice
                            chosen=Signal::derive(move || current().as_ref() == Some(&value))
                            testid=format!("{testid}-{}", o.code)
                            on_pick=Callback::new(move |()| set(Some(picked.clone())))
                        >
                            {o.name.get(lang()).to_owned()}
                        </Choice>
                    }
                })
                .collect_view();
            view! { <div class="choices" role="radiogroup">{buttons}</div> }.into_any()
        }
        // Yes / no: a required one is answered either way; an optional one (an aggravating
        // factor) is a box to tick when it applies.
        FieldKind::YesNo if def.required => {
            let answer = |yes: bool| {
                let (set, current) = (set.clone(), current.clone());
                view! {
                    <Choice
                        chosen=Signal::derive(move || current() == Some(FieldValue::YesNo(yes)))
                        testid=format!("{testid}-{}", if yes { "yes" } else { "no" })
                        on_pick=Callback::new(move |()| set(Some(FieldValue::YesNo(yes))))
                    >
                        {move || if yes { t_string!(i18n, form.yes) } else { t_string!(i18n, form.no) }}
                    </Choice>
                }
            };
            view! { <div class="choices" role="radiogroup">{answer(true)}{answer(false)}</div> }.into_any()
        }
        FieldKind::YesNo => {
            let current = current.clone();
            return view! {
                <CheckRow
                    checked=Signal::derive(move || current() == Some(FieldValue::YesNo(true)))
                    on_toggle=Callback::new(move |on: bool| set(on.then_some(FieldValue::YesNo(true))))
                    testid=testid
                >
                    {label}
                </CheckRow>
                {problems}
            }
            .into_any();
        }
    };
    view! {
        <div class="field">
            <span class="label">{label}{def.required.then(|| view! { <em class="req">" *"</em> })}</span>
            {input}
            <small class="hint source">{move || fill(t_string!(i18n, form.grade_floor_source), &[("source", &source)])}</small>
            {problems}
        </div>
    }
    .into_any()
}

/// Raises the grade to what the type, location and planned window require, when it is below
/// (or not chosen yet); never lowers it. Signers named for the old grade's steps go with it.
fn propose_grade(f: &mut PermitForm, registry: &ptw_core::Registry) {
    let proposed = f.proposed_grade(registry);
    if proposed != f.grade {
        f.grade = proposed;
        f.assignees.clear();
    }
}

fn toggle(list: &mut Vec<PersonId>, id: PersonId, on: bool) {
    list.retain(|p| *p != id);
    if on {
        list.push(id);
    }
}

/// The length of a text as `maxlength` counts it.
fn text_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// "12/100" beside a text field: how much of its limit is used, red once over it.
#[component]
fn Counter(#[prop(into)] len: Signal<usize>, max: usize, testid: String) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <small
            class="counter"
            class:over=move || { len.get() > max }
            data-testid=testid
            aria-label=move || fill(t_string!(i18n, form.count_label), &[("count", &len.get()), ("max", &max)])
        >
            {move || format!("{}/{max}", len.get())}
        </small>
    }
}

/// Asks before changes that were not saved are thrown away: keep editing, or discard and go.
#[component]
fn LeaveDialog(open: RwSignal<bool>, on_discard: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            open.set(false);
        }
    });
    on_cleanup(move || escape.remove());
    view! {
        <div class="dialog-backdrop" aria-hidden="true" on:click=move |_| open.set(false)></div>
        <div
            class="dialog"
            role="alertdialog"
            aria-modal="true"
            aria-labelledby="leave-title"
            aria-describedby="leave-text"
            data-testid="leave-dialog"
        >
            <h3 id="leave-title">{t!(i18n, form.leave_title)}</h3>
            <p id="leave-text">{t!(i18n, form.leave_text)}</p>
            <div class="dialog-buttons">
                <button type="button" class="danger big" data-testid="leave-discard" on:click=move |_| on_discard.run(())>
                    {t!(i18n, form.leave_discard)}
                </button>
                <button type="button" class="primary big" data-testid="leave-keep" on:click=move |_| open.set(false)>
                    {t!(i18n, form.leave_keep)}
                </button>
            </div>
        </div>
    }
}

#[component]
fn FormBody(initial: PermitForm, dir: Arc<Directory>, editing: Option<PermitId>) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    // What was last loaded or saved: the form has unsaved changes while it differs.
    let last_saved = RwSignal::new(initial.clone());
    let form = RwSignal::new(initial);
    let dirty = Memo::new(move |_| form.with(|f| last_saved.with(|s| f != s)));
    let leave_open = RwSignal::new(false);
    let back_to_list = move || {
        if dirty.get_untracked() {
            leave_open.set(true);
        } else {
            app.go(Page::List);
        }
    };
    let show_errors = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<CommandError>);
    // After the first save the form edits that draft, so a second click never files a twin.
    let saved_id = RwSignal::new(editing);
    let reg = Arc::new(registry(&dir));
    let r = reg.clone();
    // Checked at the trusted time, the certificate gate included: the welder whose certificate
    // does not do shows on the crew before anything is submitted.
    let errors = Memo::new(move |_| form.with(|f| f.validate_at(&r, crate::time::now_ms())));
    let lang = move || i18n.get_locale().as_str();
    let permit_key = Signal::derive(move || form.with(|f| Some((f.permit_type.clone(), f.grade.clone()))));

    let save = move |submit: bool| {
        if busy.get_untracked() {
            return;
        }
        // A draft needs its type and grade (they give its number); a submit, everything.
        let blocking = |e: &FieldError| submit || matches!(e.field, Field::PermitType | Field::Grade);
        if errors.with_untracked(|errors| errors.iter().any(blocking)) {
            show_errors.set(true);
            window().scroll_to_with_x_and_y(0.0, 0.0);
            return;
        }
        busy.set(true);
        error.set(None);
        let f = form.get_untracked();
        spawn_local(async move {
            let saved = match saved_id.get_untracked() {
                Some(id) => api::update_draft(id, &f).await,
                None => api::create_permit(&f).await,
            };
            let result = match saved {
                Ok(view) => {
                    saved_id.set(Some(view.id));
                    last_saved.set(view.form.clone());
                    app.wrote();
                    if submit {
                        api::act(view.id, &Action::Submit).await.map(|v| v.id)
                    } else {
                        Ok(view.id)
                    }
                }
                Err(e) => Err(e),
            };
            busy.set(false);
            match result {
                Ok(id) => {
                    app.wrote();
                    app.go(Page::Detail(id));
                }
                Err(e) => {
                    error.set(Some(e));
                    window().scroll_to_with_x_and_y(0.0, 0.0);
                }
            }
        });
    };

    // The type: one tile per type of the catalog, with its pictogram. Choosing one starts its
    // checklist and signers afresh and proposes its grade.
    let r = reg.clone();
    let set_type = Callback::new(move |code: String| {
        form.update(|f| {
            if f.permit_type == code {
                return;
            }
            f.permit_type = code;
            f.grade = String::new();
            f.subtype = None;
            f.details.clear();
            f.precautions.clear();
            f.assignees.clear();
            f.grade = f.proposed_grade(&r);
        })
    });
    let d = dir.clone();
    let type_tiles = move || {
        let lang = lang();
        let chosen = form.with(|f| f.permit_type.clone());
        d.catalog
            .permit_types
            .iter()
            .map(|t| {
                let code = t.code.clone();
                let on = chosen == code;
                let pick = code.clone();
                let name = t.name.get(lang).to_owned();
                view! {
                    <Choice chosen=on testid=format!("type-{code}") on_pick=Callback::new(move |()| set_type.run(pick.clone())) tile=true>
                        <WorkTypeIcon permit_type=code testid="type-icon"/>
                        <span>{name}</span>
                    </Choice>
                }
            })
            .collect_view()
    };
    // The grade: one button per grade of the type, from the most severe.
    let d = dir.clone();
    let grade_buttons = move || {
        let lang = lang();
        let (t, g) = form.with(|f| (f.permit_type.clone(), f.grade.clone()));
        let Some(t) = d.catalog.permit_type(&t) else {
            return view! { <small class="hint">{t!(i18n, form.choose_type_first)}</small> }.into_any();
        };
        t.grades
            .iter()
            .map(|gr| {
                let on = gr.code == g;
                let pick = gr.code.clone();
                let name = gr.name.get(lang).to_owned();
                let pick_grade = Callback::new(move |()| {
                    form.update(|f| {
                        if f.grade != pick {
                            f.grade = pick.clone();
                            f.assignees.clear();
                        }
                    })
                });
                view! {
                    <Choice chosen=on testid=format!("grade-{}", gr.code) on_pick=pick_grade>
                        {name}
                    </Choice>
                }
            })
            .collect_view()
            .into_any()
    };
    // Where the location or the planned window sets the least grade (GB 30871: hot work at a
    // fire and explosion hazard place is at least grade 1, and one grade higher at night, on
    // a rest day or a holiday), the form says so, with the rules' sources.
    let r = reg.clone();
    let floor_hint = move || {
        let locale = i18n.get_locale();
        let (reasons, grade, sources) = form.with(|f| {
            let required = f.grade_requirement(&r)?;
            let sources: Vec<String> = required
                .floor
                .map(|x| x.source.clone())
                .into_iter()
                .chain(required.subtype.map(|x| x.source.clone()))
                .chain(required.computed.map(|(_, by)| by.source.clone()))
                .chain(required.set_by.iter().map(|x| x.source.clone()))
                .chain(required.waived.map(|x| x.source.clone()))
                .chain(required.raise.map(|x| x.source.clone()))
                .collect();
            let set_by: Vec<String> = required.set_by.iter().map(|x| x.field.clone()).collect();
            with_names(locale, Some((&f.permit_type, &f.grade)), |n| {
                let why = GradeWhy {
                    location_class: required.floor.map(|x| x.location_class.as_str()),
                    raised_by: &required.raised_by,
                    subtype: required.subtype.map(|x| x.code.as_str()),
                    computed_from: required.computed.map(|(_, by)| by.field.as_str()),
                    aggravated_by: &required.aggravated_by,
                    set_by: &set_by,
                    waived_by: required.waived.map(|x| x.field.as_str()),
                };
                (n.grade_reasons(&why), n.grade_name(required.min_grade), sources)
            })
        })?;
        Some(view! {
            <small class="hint floor-hint" data-testid="grade-floor">
                {fill(t_string!(i18n, form.grade_required), &[("reasons", &reasons), ("grade", &grade)])}
                {sources
                    .into_iter()
                    .map(|source| view! {
                        <br/>
                        <span class="source">{fill(t_string!(i18n, form.grade_floor_source), &[("source", &source)])}</span>
                    })
                    .collect_view()}
            </small>
        })
    };
    let d = dir.clone();
    let validity_hint = move || {
        let max = form.with(|f| d.catalog.grade(&f.permit_type, &f.grade).map(|g| g.max_validity_minutes))?;
        let hours = if max % 60 == 0 { (max / 60).to_string() } else { format!("{:.1}", max as f64 / 60.0) };
        Some(fill(t_string!(i18n, form.max_validity), &[("hours", &hours)]))
    };

    // The sub-type (子场景), for types that have them: one button each.
    let d = dir.clone();
    let r = reg.clone();
    let subtype_field = move || {
        let lang = lang();
        let (t, chosen) = form.with(|f| (f.permit_type.clone(), f.subtype.clone()));
        let t = d.catalog.permit_type(&t).filter(|t| !t.subtypes.is_empty())?;
        let r = r.clone();
        let buttons = t
            .subtypes
            .iter()
            .map(|st| {
                let on = chosen.as_deref() == Some(st.code.as_str());
                let pick = st.code.clone();
                let r = r.clone();
                let name = st.name.get(lang).to_owned();
                let pick_subtype = Callback::new(move |()| {
                    form.update(|f| {
                        f.subtype = Some(pick.clone());
                        // Fields of the other sub-types go with them.
                        if let Some(t) = r.catalog.permit_type(&f.permit_type) {
                            f.details.retain(|code, _| t.field(code).is_some_and(|x| x.applies_to(Some(&pick))));
                        }
                        propose_grade(f, &r);
                    })
                });
                view! {
                    <Choice chosen=on testid=format!("subtype-{}", st.code) on_pick=pick_subtype>
                        {name}
                    </Choice>
                }
            })
            .collect_view();
        Some(view! {
            <div class="field">
                <span class="label" id="label-subtype">{t!(i18n, form.subtype)}<em class="req">" *"</em></span>
                <div class="choices" role="radiogroup" aria-labelledby="label-subtype" data-testid="field-subtype">
                    {buttons}
                </div>
                <FieldErrors field=Field::Subtype errors=errors show=show_errors form=form/>
            </div>
        })
    };
    // The type's own fields (作业专项信息): working height, load, blind number… as the catalog
    // defines them, each with its unit, range and source.
    let d = dir.clone();
    let r = reg.clone();
    let details_section = move || {
        let (t, subtype) = form.with(|f| (f.permit_type.clone(), f.subtype.clone()));
        let t = d.catalog.permit_type(&t)?;
        let fields: Vec<FieldDef> = t.fields.iter().filter(|f| f.applies_to(subtype.as_deref())).cloned().collect();
        if fields.is_empty() {
            return None;
        }
        let rows = fields
            .into_iter()
            .map(|def| view! { <DetailInput def=def form=form registry=r.clone() errors=errors show=show_errors/> })
            .collect_view();
        Some(view! {
            <fieldset class="group" data-testid="section-details">
                <legend>{t!(i18n, form.section_details)}</legend>
                {rows}
            </fieldset>
        })
    };

    let d = dir.clone();
    let location_options = move || {
        let chosen = form.with(|f| f.location);
        d.locations
            .iter()
            .map(|l| {
                let text = if l.area.is_empty() { l.name.clone() } else { format!("{} · {}", l.name, l.area) };
                view! { <option value=l.id.to_string() selected=chosen == Some(l.id)>{text}</option> }
            })
            .collect_view()
    };

    let r = reg.clone();
    let on_location = move |ev: leptos::ev::Event| {
        let location = ptw_core::LocationId::from_str(&event_target_value(&ev)).ok();
        form.update(|f| {
            f.location = location;
            propose_grade(f, &r);
        })
    };
    let r = reg.clone();
    let set_start = Callback::new(move |at| {
        form.update(|f| {
            f.planned_start = at;
            propose_grade(f, &r);
        })
    });
    let r = reg.clone();
    let set_end = Callback::new(move |at| {
        form.update(|f| {
            f.planned_end = at;
            propose_grade(f, &r);
        })
    });

    let people_with = {
        let dir = dir.clone();
        move |role: &str| dir.people.iter().filter(|p| p.has_role(&Role::new(role))).cloned().collect::<Vec<_>>()
    };
    // The guardian: one row per person who holds the role, one tap to choose.
    let guardian_rows = people_with("guardian")
        .into_iter()
        .map(|p| {
            let id = p.id;
            view! {
                <CheckRow
                    checked=Signal::derive(move || form.with(|f| f.guardian == Some(id)))
                    on_toggle=Callback::new(move |on: bool| form.update(|f| f.guardian = on.then_some(id)))
                    testid=format!("guardian-{}", p.name)
                    radio="guardian"
                >
                    <strong>{p.name.clone()}</strong>
                    <small>{p.title.clone()}</small>
                </CheckRow>
            }
        })
        .collect_view();
    let applicant_name = {
        let dir = dir.clone();
        move || {
            form.with(|f| f.applicant)
                .and_then(|id| dir.people.iter().find(|p| p.id == id))
                .map(|p| format!("{} · {}", p.name, p.title))
                .unwrap_or_default()
        }
    };
    let crew_rows = dir
        .people
        .iter()
        .map(|p| {
            let id = p.id;
            let (name, title) = (p.name.clone(), p.title.clone());
            view! {
                <CheckRow
                    checked=Signal::derive(move || form.with(|f| f.crew.contains(&id)))
                    on_toggle=Callback::new(move |on| form.update(|f| toggle(&mut f.crew, id, on)))
                    testid=format!("crew-{}", p.name)
                >
                    <strong>{name}</strong>
                    <small>{title}</small>
                </CheckRow>
            }
        })
        .collect_view();

    let d = dir.clone();
    let precaution_rows = move || {
        let lang = lang();
        let (t, grade) = form.with(|f| (f.permit_type.clone(), f.grade.clone()));
        let items: Vec<_> = d
            .catalog
            .permit_type(&t)
            .map(|t| t.precautions.iter().filter(|p| p.applies_to(&grade)).cloned().collect())
            .unwrap_or_default();
        items
            .into_iter()
            .map(|item| {
                let code = item.code.clone();
                let toggled = code.clone();
                let text = item.text.get(lang).to_owned();
                let required = item.required;
                view! {
                    <CheckRow
                        checked=Signal::derive(move || form.with(|f| f.precautions.contains(&code)))
                        on_toggle=Callback::new(move |on: bool| {
                            form.update(|f| {
                                f.precautions.retain(|c| c != &toggled);
                                if on {
                                    f.precautions.push(toggled.clone());
                                }
                            })
                        })
                        testid=format!("precaution-{}", item.code)
                    >
                        {text}
                        {required.then(|| view! { <em class="req">" *"</em> })}
                    </CheckRow>
                }
            })
            .collect_view()
    };
    let d = dir.clone();
    let check_all = move |_| {
        let codes: Vec<String> = form
            .with(|f| {
                d.catalog
                    .permit_type(&f.permit_type)
                    .map(|t| t.precautions.iter().filter(|p| p.applies_to(&f.grade)).map(|p| p.code.clone()).collect())
            })
            .unwrap_or_default();
        form.update(|f| f.precautions = codes);
    };

    // Countersign (会签) steps of the grade: the applicant names who must sign each.
    let d = dir.clone();
    let assignee_pickers = move || {
        let lang = lang();
        let steps: Vec<_> = form.with(|f| {
            d.catalog
                .grade(&f.permit_type, &f.grade)
                .map(|g| g.flow_for(f).filter(|s| s.mode == SignMode::Countersign).cloned().collect())
                .unwrap_or_default()
        });
        if steps.is_empty() {
            return None;
        }
        let pickers = steps
            .into_iter()
            .map(|step| {
                let role_name = d.catalog.role(&step.role).map(|r| r.name.get(lang).to_owned()).unwrap_or_default();
                let heading =
                    fill(t_string!(i18n, form.assignees_for), &[("step", &step.name.get(lang)), ("role", &role_name)]);
                let signers = d
                    .people
                    .iter()
                    .filter(|p| p.has_role(&step.role))
                    .map(|p| {
                        let (id, step_id, step_id2) = (p.id, step.id.clone(), step.id.clone());
                        let (name, title) = (p.name.clone(), p.title.clone());
                        view! {
                            <CheckRow
                                checked=Signal::derive(move || {
                                    form.with(|f| f.assignees.get(&step_id).is_some_and(|v| v.contains(&id)))
                                })
                                on_toggle=Callback::new(move |on| {
                                    form.update(|f| {
                                        let list = f.assignees.entry(step_id2.clone()).or_default();
                                        toggle(list, id, on);
                                        if list.is_empty() {
                                            f.assignees.remove(&step_id2);
                                        }
                                    })
                                })
                                testid=format!("assignee-{}-{}", step.id, p.name)
                            >
                                <strong>{name}</strong>
                                <small>{title}</small>
                            </CheckRow>
                        }
                    })
                    .collect_view();
                view! {
                    <div class="assignee-step">
                        <h4>{heading}</h4>
                        <div class="checks">{signers}</div>
                    </div>
                }
            })
            .collect_view();
        Some(view! {
            <fieldset class="group">
                <legend>{t!(i18n, form.assignees)}</legend>
                {pickers}
                <FieldErrors field=Field::Assignees errors=errors show=show_errors form=form/>
            </fieldset>
        })
    };

    let summary = move || {
        let n = errors.with(Vec::len);
        (show_errors.get() && n > 0).then(|| {
            view! {
                <p class="form-summary" role="alert" data-testid="form-errors-summary">
                    {fill(t_string!(i18n, form.fix_errors), &[("count", &n)])}
                </p>
            }
        })
    };
    let heading = move || {
        if editing.is_some() {
            t_string!(i18n, form.heading_edit)
        } else {
            t_string!(i18n, form.heading_new)
        }
    };
    let err = move |field: Field| view! { <FieldErrors field=field errors=errors show=show_errors form=form/> };
    let text_input = move |value: fn(&PermitForm) -> String, set: fn(&mut PermitForm, String)| {
        (move || form.with(value), move |ev: leptos::ev::Event| form.update(|f| set(f, event_target_value(&ev))))
    };
    let (title_value, on_title) = text_input(|f| f.title.clone(), |f, v| f.title = v);
    let (desc_value, on_desc) = text_input(|f| f.work_description.clone(), |f, v| f.work_description = v);
    let (hazards_value, on_hazards) = text_input(|f| f.hazards.clone(), |f, v| f.hazards = v);
    let counter = move |testid: &str, max: usize, text: fn(&PermitForm) -> &str| {
        view! { <Counter len=Signal::derive(move || form.with(|f| text_len(text(f)))) max=max testid=format!("count-{testid}")/> }
    };
    // The type's job safety analysis: the hazards to go through, each a button that adds it to
    // the permit's hazards (a gloved finger taps rather than types).
    let d = dir.clone();
    let jsa_hint = move || {
        let lang = lang();
        let jsa = form.with(|f| d.catalog.permit_type(&f.permit_type).and_then(|t| t.jsa.clone()))?;
        let chips = jsa
            .hazards
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let text = h.get(lang).to_owned();
                let add = text.clone();
                let on_click = move |_| {
                    form.update(|f| {
                        if !f.hazards.contains(&add) {
                            let before = f.hazards.trim_end().trim_end_matches(['；', ';', '，', ',', '。', '、']);
                            let sep = if before.is_empty() { "" } else { "；" };
                            f.hazards = format!("{before}{sep}{add}");
                        }
                    })
                };
                let added = {
                    let t = text.clone();
                    move || form.with(|f| f.hazards.contains(&t))
                };
                view! {
                    <button
                        type="button"
                        class="secondary chip"
                        class:added=added
                        data-testid=format!("jsa-hazard-{i}")
                        on:click=on_click
                    >
                        {text}
                    </button>
                }
            })
            .collect_view();
        Some(view! {
            <div class="jsa" data-testid="jsa-hazards">
                <small class="hint">{t!(i18n, form.jsa_hint)}</small>
                <div class="chips">{chips}</div>
            </div>
        })
    };
    let planned_start = Signal::derive(move || form.with(|f| f.planned_start));
    let planned_end = Signal::derive(move || form.with(|f| f.planned_end));

    view! {
        <section class="permit-form">
            <div class="page-head">
                <button class="secondary" data-testid="back-to-list" on:click=move |_| back_to_list()>
                    "← " {t!(i18n, nav.back_to_list)}
                </button>
                <h2>{heading}</h2>
            </div>
            <ErrorBanner error=error permit=permit_key/>
            {summary}
            <form on:submit=|ev| ev.prevent_default() on:keydown=enter_moves_on>
                <fieldset class="group">
                    <legend>{t!(i18n, form.section_work)}</legend>
                    <div class="field">
                        <span class="label" id="label-permit-type">{t!(i18n, form.permit_type)}<em class="req">" *"</em></span>
                        <div class="choices tiles" role="radiogroup" aria-labelledby="label-permit-type" data-testid="field-permit-type">
                            {type_tiles}
                        </div>
                        {err(Field::PermitType)}
                    </div>
                    {subtype_field}
                    <label class="field">
                        <span class="label">{t!(i18n, form.location)}<em class="req">" *"</em></span>
                        <select data-testid="field-location" on:change=on_location>
                            <option value="" selected=move || form.with(|f| f.location.is_none())>{t!(i18n, form.choose)}</option>
                            {location_options}
                        </select>
                        {err(Field::Location)}
                    </label>
                    <div class="field">
                        <span class="label" id="label-grade">{t!(i18n, form.grade)}<em class="req">" *"</em></span>
                        <div class="choices" role="radiogroup" aria-labelledby="label-grade" data-testid="field-grade">
                            {grade_buttons}
                        </div>
                        {floor_hint}
                        <small class="hint">{validity_hint}</small>
                        {err(Field::Grade)}
                    </div>
                    <label class="field">
                        <span class="label-line">
                            <span class="label">{t!(i18n, form.title)}<em class="req">" *"</em></span>
                            {counter("title", TITLE_MAX, |f| &f.title)}
                        </span>
                        <input
                            type="text"
                            maxlength=TITLE_MAX
                            enterkeyhint="next"
                            data-testid="field-title"
                            placeholder=move || t_string!(i18n, form.title_placeholder)
                            prop:value=title_value
                            on:input=on_title
                        />
                        {err(Field::Title)}
                    </label>
                    <label class="field">
                        <span class="label-line">
                            <span class="label">{t!(i18n, form.work_description)}<em class="req">" *"</em></span>
                            {counter("work-description", DESCRIPTION_MAX, |f| &f.work_description)}
                        </span>
                        <textarea
                            data-testid="field-work-description"
                            rows="3"
                            maxlength=DESCRIPTION_MAX
                            prop:value=desc_value
                            on:input=on_desc
                        ></textarea>
                        {err(Field::WorkDescription)}
                    </label>
                    <div class="row2">
                        // A <div>, not a <label>: a label would pass taps inside the open picker
                        // back to the field's button.
                        <div class="field">
                            <span class="label" id="label-planned-start">
                                {t!(i18n, form.planned_start)}<em class="req">" *"</em>
                            </span>
                            <DateTimeField
                                value=planned_start
                                on_change=set_start
                                testid="field-planned-start"
                                label_id="label-planned-start"
                                heading=Signal::derive(move || t_string!(i18n, form.planned_start).to_owned())
                            />
                            {err(Field::PlannedStart)}
                        </div>
                        <div class="field">
                            <span class="label" id="label-planned-end">
                                {t!(i18n, form.planned_end)}<em class="req">" *"</em>
                            </span>
                            <DateTimeField
                                value=planned_end
                                on_change=set_end
                                testid="field-planned-end"
                                label_id="label-planned-end"
                                heading=Signal::derive(move || t_string!(i18n, form.planned_end).to_owned())
                                base=planned_start
                            />
                            {err(Field::PlannedEnd)}
                        </div>
                    </div>
                </fieldset>

                {details_section}

                <fieldset class="group">
                    <legend>{t!(i18n, form.section_people)}</legend>
                    <div class="field">
                        <span class="label">{t!(i18n, form.applicant)}</span>
                        <span class="readonly" data-testid="field-applicant">{applicant_name}</span>
                        {err(Field::Applicant)}
                    </div>
                    <div class="field">
                        <span class="label" id="label-guardian">{t!(i18n, form.guardian)}<em class="req">" *"</em></span>
                        <div class="checks people-checks" role="radiogroup" aria-labelledby="label-guardian" data-testid="field-guardian">
                            {guardian_rows}
                        </div>
                        {err(Field::Guardian)}
                    </div>
                    <div class="field">
                        <span class="label">{t!(i18n, form.crew)}</span>
                        <div class="checks people-checks">{crew_rows}</div>
                        {err(Field::Crew)}
                    </div>
                </fieldset>

                <fieldset class="group">
                    <legend>{t!(i18n, form.section_safety)}</legend>
                    <label class="field">
                        <span class="label-line">
                            <span class="label">{t!(i18n, form.hazards)}<em class="req">" *"</em></span>
                            {counter("hazards", HAZARDS_MAX, |f| &f.hazards)}
                        </span>
                        <textarea
                            data-testid="field-hazards"
                            rows="3"
                            maxlength=HAZARDS_MAX
                            prop:value=hazards_value
                            on:input=on_hazards
                        ></textarea>
                        {jsa_hint}
                        {err(Field::Hazards)}
                    </label>
                    <div class="field">
                        <div class="label-row">
                            <span class="label">{t!(i18n, form.precautions)}</span>
                            <button type="button" class="secondary" data-testid="precautions-all" on:click=check_all>
                                {t!(i18n, form.check_all)}
                            </button>
                        </div>
                        <div class="checks">{precaution_rows}</div>
                        <small class="hint">{t!(i18n, form.required_hint)}</small>
                        {err(Field::Precautions)}
                    </div>
                </fieldset>

                {assignee_pickers}

                <div class="form-buttons">
                    <button type="button" class="secondary big" data-testid="save-draft" disabled=move || busy.get() on:click=move |_| save(false)>
                        {t!(i18n, form.save_draft)}
                    </button>
                    <button type="button" class="primary big" data-testid="submit-permit" disabled=move || busy.get() on:click=move |_| save(true)>
                        {t!(i18n, form.submit)}
                    </button>
                </div>
            </form>
            <Show when=move || leave_open.get()>
                <LeaveDialog open=leave_open on_discard=Callback::new(move |()| app.go(Page::List))/>
            </Show>
        </section>
    }
}
