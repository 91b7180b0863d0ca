//! The register (人员名册), for admins: find a person, add or change them (name, trade, roles,
//! employee or contractor, department, badge, phone), set their PIN, freeze or unfreeze their
//! account with the reason (R-FREEZE), retire them, revoke a certificate.
//!
//! Online only, and only after the admin types their PIN again: each change goes to the sync
//! server's admin API, which checks the PIN and role once more and signs the change into the
//! registry log; the screen then shows the register as the server left it. What can be checked
//! here (a name, a reason, a PIN's digits) is checked before anything is sent; what only the
//! register knows (a badge someone else holds) comes back from the server as its problem.

use crate::api;
use crate::i18n::*;
use crate::messages::fill;
use crate::state::{use_app, Page};
use crate::time;
use crate::widgets::{with_names, Choice, ErrorBanner, Icon, PinInput, QrImage};
use leptos::prelude::*;
use leptos::task::spawn_local;
use ptw_core::api::CommandError;
use ptw_core::registry::{Person, Profile};
use ptw_core::sync::AdminChange;
use ptw_core::PersonId;
use std::sync::Arc;

/// The role the admin screen is for.
pub const ADMIN_ROLE: &str = "admin";

/// People listed at once; more are found by typing.
const MAX_SHOWN: usize = 60;

/// What was done, for the line that confirms it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Done {
    Saved,
    PinSet,
    Frozen,
    Unfrozen,
    Retired,
    Revoked,
}

/// What is wrong with the admin's entry, found before anything is sent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Problem {
    NameMissing,
    CompanyMissing,
    PinDigits { min: u8 },
    ReasonMissing,
}

fn problem_text(locale: Locale, p: Problem) -> String {
    match p {
        Problem::NameMissing => td_string!(locale, admin.name_missing).to_owned(),
        Problem::CompanyMissing => td_string!(locale, admin.company_missing).to_owned(),
        Problem::PinDigits { min } => fill(td_string!(locale, admin.pin_digits), &[("min", &min)]),
        Problem::ReasonMissing => td_string!(locale, admin.reason_missing).to_owned(),
    }
}

fn done_text(locale: Locale, d: Done) -> &'static str {
    match d {
        Done::Saved => td_string!(locale, admin.saved),
        Done::PinSet => td_string!(locale, admin.pin_set),
        Done::Frozen => td_string!(locale, admin.frozen_done),
        Done::Unfrozen => td_string!(locale, admin.unfrozen_done),
        Done::Retired => td_string!(locale, admin.retired_done),
        Done::Revoked => td_string!(locale, admin.revoked_done),
    }
}

/// Whether a PIN has the digits the plant asks.
fn pin_problem(pin: &str, min: u8) -> Option<Problem> {
    let ok = pin.len() >= usize::from(min) && pin.len() <= 12 && pin.bytes().all(|b| b.is_ascii_digit());
    (!ok).then_some(Problem::PinDigits { min })
}

#[component]
pub fn Admin() -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let unlocked = RwSignal::new(false);
    // Above both the PIN entry and the register: a refusal that locks the screen stays shown.
    let error = RwSignal::new(None::<CommandError>);
    // Leaving the screen locks it: the PIN is not kept for another page.
    on_cleanup(|| spawn_local(async { _ = api::admin_lock().await }));
    view! {
        <section class="admin" data-testid="admin">
            <div class="page-head no-print">
                <button class="secondary" data-testid="back-to-list" on:click=move |_| app.go(Page::List)>
                    <Icon name="arrow-left"/>
                    {t!(i18n, nav.back_to_list)}
                </button>
                <h2>{t!(i18n, admin.title)}</h2>
            </div>
            <ErrorBanner error=error/>
            {move || if unlocked.get() {
                view! { <Register unlocked=unlocked error=error/> }.into_any()
            } else {
                view! { <Unlock unlocked=unlocked error=error/> }.into_any()
            }}
        </section>
    }
}

/// The admin's PIN again, before the register can be changed.
#[component]
fn Unlock(unlocked: RwSignal<bool>, error: RwSignal<Option<CommandError>>) -> impl IntoView {
    let i18n = use_i18n();
    let pin = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let submit = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let entered = pin.get_untracked();
        spawn_local(async move {
            match api::admin_unlock(entered).await {
                Ok(()) => {
                    error.set(None);
                    unlocked.set(true);
                }
                Err(e) => {
                    pin.set(String::new());
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };
    view! {
        <div class="card admin-unlock">
            <p class="hint">{t!(i18n, admin.unlock_hint)}</p>
            <form on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }>
                <label class="field">
                    <span>{t!(i18n, admin.your_pin)}</span>
                    <PinInput value=pin error=error testid="admin-pin"/>
                </label>
                <button type="submit" class="primary big" data-testid="admin-unlock" disabled=move || busy.get()>
                    {t!(i18n, admin.unlock)}
                </button>
            </form>
        </div>
    }
}

/// Who is being edited: someone in the register, or a person being added (with a fresh id).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Editing {
    Existing(PersonId),
    New(PersonId),
}

#[component]
fn Register(unlocked: RwSignal<bool>, error: RwSignal<Option<CommandError>>) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let query = RwSignal::new(String::new());
    let editing = RwSignal::new(None::<Editing>);
    let done = RwSignal::new(None::<Done>);
    let busy = RwSignal::new(false);

    // Every change goes through here: sent, then the register as the server left it.
    let send = Callback::new(move |(change, what): (AdminChange, Done)| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        done.set(None);
        spawn_local(async move {
            match api::admin_change(&change).await {
                Ok(directory) => {
                    app.directory.set(Some(Arc::new(directory)));
                    if let (AdminChange::PutPerson { id, .. }, Done::Saved) = (&change, what) {
                        editing.set(Some(Editing::Existing(*id)));
                    }
                    done.set(Some(what));
                }
                Err(e @ (CommandError::AdminLocked | CommandError::NotAllowed)) => {
                    error.set(Some(e));
                    unlocked.set(false);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    });

    let add = move |_| {
        spawn_local(async move {
            match api::new_person_id().await {
                Ok(id) => {
                    done.set(None);
                    editing.set(Some(Editing::New(id)));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let list = move || {
        let q = query.get();
        let current = editing.get();
        app.directory.with(|d| {
            let Some(d) = d else { return ().into_any() };
            let found: Vec<&Person> = d.people.iter().filter(|p| p.matches_search(&q)).collect();
            if found.is_empty() {
                return view! { <p class="empty">{t!(i18n, sign_in.nobody)}</p> }.into_any();
            }
            let more = found.len().saturating_sub(MAX_SHOWN);
            let rows = found
                .into_iter()
                .take(MAX_SHOWN)
                .map(|p| {
                    let id = p.id;
                    let chosen = current == Some(Editing::Existing(id));
                    let frozen = p.frozen_since_ms.is_some();
                    let retired = p.retired_ms.is_some();
                    let place = if p.profile.company.is_empty() {
                        p.profile.department.clone()
                    } else {
                        format!("{} · {}", p.profile.company, p.profile.department)
                    };
                    view! {
                        <li>
                            <button
                                class="admin-person"
                                class:chosen=chosen
                                data-testid="admin-person"
                                data-name=p.name.clone()
                                on:click=move |_| {
                                    done.set(None);
                                    error.set(None);
                                    editing.set(Some(Editing::Existing(id)));
                                }
                            >
                                <span class="person-name">{p.name.clone()}</span>
                                <span class="person-title">{p.title.clone()}</span>
                                <span class="person-place">{place}</span>
                                <span class="person-badge">{p.profile.badge.clone()}</span>
                                {frozen.then(|| view! { <span class="chip frozen" data-testid="chip-frozen">{t!(i18n, admin.chip_frozen)}</span> })}
                                {retired.then(|| view! { <span class="chip retired" data-testid="chip-retired">{t!(i18n, admin.chip_retired)}</span> })}
                            </button>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <ul class="admin-people">{rows}</ul>
                {(more > 0).then(|| view! {
                    <p class="hint">{fill(t_string!(i18n, sign_in.more), &[("count", &more)])}</p>
                })}
            }
            .into_any()
        })
    };

    let sheet = RwSignal::new(None::<Sheet>);
    view! {
        {move || done.get().map(|d| view! {
            <p class="notice no-print" role="status" data-testid="admin-done">{done_text(i18n.get_locale(), d)}</p>
        })}
        <div class="card admin-print no-print">
            <h3>{t!(i18n, admin.print_title)}</h3>
            <p class="hint">{t!(i18n, admin.print_hint)}</p>
            <div class="actions-row">
                <button class="secondary big" data-testid="admin-print-badges" on:click=move |_| sheet.set(Some(Sheet::Badges(query.get_untracked())))>
                    <Icon name="scan-line"/>
                    {t!(i18n, admin.print_badges)}
                </button>
                <button class="secondary big" data-testid="admin-print-posters" on:click=move |_| sheet.set(Some(Sheet::Posters))>
                    <Icon name="scan-line"/>
                    {t!(i18n, admin.print_posters)}
                </button>
            </div>
        </div>
        {move || sheet.get().map(|s| view! { <PrintSheet sheet=s close=sheet/> })}
        <div class="admin-layout no-print">
            <div class="card admin-list">
                <div class="admin-list-head">
                    <input
                        type="search"
                        class="person-search"
                        data-testid="admin-search"
                        autocomplete="off"
                        placeholder=move || t_string!(i18n, admin.search)
                        aria-label=move || t_string!(i18n, admin.search)
                        prop:value=move || query.get()
                        on:input=move |ev| query.set(event_target_value(&ev))
                    />
                    <button class="primary big" data-testid="admin-add" on:click=add>
                        <Icon name="plus"/>
                        {t!(i18n, admin.add)}
                    </button>
                </div>
                {list}
            </div>
            {move || editing.get().map(|e| view! { <PersonEditor editing=e send=send busy=busy/> })}
        </div>
    }
}

/// One person's record and what may be done to it.
#[component]
fn PersonEditor(editing: Editing, send: Callback<(AdminChange, Done)>, busy: RwSignal<bool>) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let (id, is_new) = match editing {
        Editing::Existing(id) => (id, false),
        Editing::New(id) => (id, true),
    };
    let person = move || app.directory.with(|d| d.as_ref().and_then(|d| d.people.iter().find(|p| p.id == id).cloned()));
    let start = person();
    let start_profile = start.as_ref().map(|p| p.profile.clone()).unwrap_or_default();
    let name = RwSignal::new(start.as_ref().map(|p| p.name.clone()).unwrap_or_default());
    let title = RwSignal::new(start.as_ref().map(|p| p.title.clone()).unwrap_or_default());
    let roles = RwSignal::new(start.as_ref().map(|p| p.roles.clone()).unwrap_or_default());
    let contractor = RwSignal::new(!start_profile.company.is_empty());
    let company = RwSignal::new(start_profile.company.clone());
    let department = RwSignal::new(start_profile.department.clone());
    let badge = RwSignal::new(start_profile.badge.clone());
    let phone = RwSignal::new(start_profile.phone.clone());
    let new_pin = RwSignal::new(String::new());
    let freeze_reason = RwSignal::new(String::new());
    let retire_reason = RwSignal::new(String::new());
    let retire_asked = RwSignal::new(false);
    let revoke_reason = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<Problem>);
    let min_pin = move || app.directory.with(|d| d.as_ref().map_or(6, |d| d.settings.min_pin_digits));
    // As the register stands (a freeze the server just signed may carry a time a moment ahead
    // of this device's clock).
    let retired = move || person().is_some_and(|p| p.retired_ms.is_some());
    let frozen = move || person().is_some_and(|p| p.frozen_since_ms.is_some());

    let save = move || {
        let n = name.get_untracked().trim().to_owned();
        if n.is_empty() {
            return problem.set(Some(Problem::NameMissing));
        }
        let c = if contractor.get_untracked() { company.get_untracked().trim().to_owned() } else { String::new() };
        if contractor.get_untracked() && c.is_empty() {
            return problem.set(Some(Problem::CompanyMissing));
        }
        problem.set(None);
        let change = AdminChange::PutPerson {
            id,
            name: n,
            title: title.get_untracked().trim().to_owned(),
            roles: roles.get_untracked(),
            profile: Profile {
                company: c,
                department: department.get_untracked().trim().to_owned(),
                badge: badge.get_untracked().trim().to_owned(),
                phone: phone.get_untracked().trim().to_owned(),
            },
        };
        // A new person's PIN is set once they are in the register (the editor then offers it).
        send.run((change, Done::Saved));
    };
    let set_pin = move || {
        let pin = new_pin.get_untracked();
        if let Some(p) = pin_problem(&pin, min_pin()) {
            return problem.set(Some(p));
        }
        problem.set(None);
        new_pin.set(String::new());
        send.run((AdminChange::SetPin { person: id, pin }, Done::PinSet));
    };
    let with_reason = move |reason: RwSignal<String>, make: fn(PersonId, String) -> AdminChange, what: Done| {
        let r = reason.get_untracked().trim().to_owned();
        if r.is_empty() {
            return problem.set(Some(Problem::ReasonMissing));
        }
        problem.set(None);
        reason.set(String::new());
        send.run((make(id, r), what));
    };
    let freeze = move |_| {
        if frozen() {
            with_reason(freeze_reason, |person, reason| AdminChange::Unfreeze { person, reason }, Done::Unfrozen);
        } else {
            with_reason(freeze_reason, |person, reason| AdminChange::Freeze { person, reason }, Done::Frozen);
        }
    };
    let retire = move |_| {
        if retire_reason.get_untracked().trim().is_empty() {
            return problem.set(Some(Problem::ReasonMissing));
        }
        if !retire_asked.get_untracked() {
            problem.set(None);
            return retire_asked.set(true);
        }
        retire_asked.set(false);
        with_reason(retire_reason, |person, reason| AdminChange::RetirePerson { person, reason }, Done::Retired);
    };

    let role_boxes = move || {
        let locale = i18n.get_locale();
        app.directory.with(|d| {
            let Some(d) = d else { return Vec::new() };
            d.catalog
                .roles
                .iter()
                .map(|def| {
                    let code = def.code.clone();
                    let checked_code = code.clone();
                    let label = with_names(locale, None, |n| n.role(&def.code)).unwrap_or_default();
                    view! {
                        <label class="check-row">
                            <input
                                type="checkbox"
                                data-testid=format!("admin-role-{}", code.as_str())
                                prop:checked=move || roles.with(|r| r.contains(&checked_code))
                                disabled=retired
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let code = code.clone();
                                    roles.update(|r| {
                                        r.retain(|x| *x != code);
                                        if on {
                                            r.push(code);
                                        }
                                    });
                                }
                            />
                            <span>{label}</span>
                        </label>
                    }
                })
                .collect::<Vec<_>>()
        })
    };

    let text_field = move |label: &'static str, testid: &'static str, value: RwSignal<String>, kind: &'static str| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input
                    type=kind
                    data-testid=testid
                    autocomplete="off"
                    disabled=retired
                    prop:value=move || value.get()
                    on:input=move |ev| {
                        problem.set(None);
                        value.set(event_target_value(&ev));
                    }
                />
            </label>
        }
    };

    let reason_field = move |testid: &'static str, value: RwSignal<String>| {
        view! {
            <input
                type="text"
                data-testid=testid
                aria-label=move || t_string!(i18n, admin.reason)
                placeholder=move || t_string!(i18n, admin.reason)
                prop:value=move || value.get()
                on:input=move |ev| {
                    problem.set(None);
                    value.set(event_target_value(&ev));
                }
            />
        }
    };
    // A new reason asks for the second tap again.
    Effect::new(move |_| {
        retire_reason.track();
        retire_asked.set(false);
    });

    let certificates = move || {
        let locale = i18n.get_locale();
        let rows = app.directory.with(|d| {
            let Some(d) = d else { return Vec::new() };
            d.certificates
                .iter()
                .filter(|c| c.person == id && c.revoked_ms.is_none())
                .map(|c| {
                    let cert = c.id;
                    let type_name = with_names(locale, None, |n| n.certificate_type(&c.cert_type)).unwrap_or_default();
                    view! {
                        <li data-testid="admin-certificate" data-number=c.number.clone()>
                            <span>{type_name}</span>
                            <span>{c.number.clone()}</span>
                            <span>{fill(td_string!(locale, certificates.until), &[("day", &time::format_day(c.valid_to_ms - 1))])}</span>
                            <button
                                class="secondary"
                                data-testid="admin-revoke"
                                disabled=move || busy.get()
                                on:click=move |_| {
                                    let r = revoke_reason.get_untracked().trim().to_owned();
                                    if r.is_empty() {
                                        return problem.set(Some(Problem::ReasonMissing));
                                    }
                                    problem.set(None);
                                    revoke_reason.set(String::new());
                                    send.run((AdminChange::RevokeCertificate { certificate: cert, reason: r }, Done::Revoked));
                                }
                            >
                                {t!(i18n, admin.revoke)}
                            </button>
                        </li>
                    }
                })
                .collect::<Vec<_>>()
        });
        if rows.is_empty() {
            return view! { <p class="empty">{t!(i18n, admin.no_certificates)}</p> }.into_any();
        }
        view! {
            <ul class="admin-certs">{rows}</ul>
            <label class="field">
                <span>{t!(i18n, admin.revoke_reason)}</span>
                <input
                    type="text"
                    data-testid="admin-revoke-reason"
                    prop:value=move || revoke_reason.get()
                    on:input=move |ev| revoke_reason.set(event_target_value(&ev))
                />
            </label>
        }
        .into_any()
    };

    let status = move || {
        let locale = i18n.get_locale();
        person().map(|p| {
            let text = if let Some(ms) = p.retired_ms {
                fill(td_string!(locale, admin.status_retired), &[("at", &time::show_ms(ms))])
            } else if let Some(ms) = p.frozen_since_ms {
                fill(td_string!(locale, admin.status_frozen), &[("at", &time::show_ms(ms))])
            } else {
                td_string!(locale, admin.status_active).to_owned()
            };
            view! { <p class="admin-status" data-testid="admin-status">{text}</p> }
        })
    };

    let locale = i18n.get_locale_untracked();
    view! {
        <div class="card admin-editor" data-testid="admin-editor">
            <h3>{move || if is_new { t_string!(i18n, admin.new_person).to_owned() } else { name.get() }}</h3>
            {status}
            {move || problem.get().map(|p| view! {
                <p class="error" role="alert" data-testid="admin-problem">{problem_text(i18n.get_locale(), p)}</p>
            })}
            <form novalidate on:submit=move |ev| {
                ev.prevent_default();
                save();
            }>
                {text_field(td_string!(locale, admin.name), "admin-name", name, "text")}
                {text_field(td_string!(locale, admin.trade), "admin-title", title, "text")}
                <div class="field" role="radiogroup">
                    <span class="label">{t!(i18n, admin.employment)}</span>
                    <div class="choices">
                        <Choice chosen=Signal::derive(move || !contractor.get()) testid="admin-employee".into()
                            on_pick=Callback::new(move |()| contractor.set(false))>
                            {t!(i18n, admin.employee)}
                        </Choice>
                        <Choice chosen=Signal::derive(move || contractor.get()) testid="admin-contractor".into()
                            on_pick=Callback::new(move |()| contractor.set(true))>
                            {t!(i18n, admin.contractor)}
                        </Choice>
                    </div>
                </div>
                <Show when=move || contractor.get()>
                    {text_field(td_string!(locale, admin.company), "admin-company", company, "text")}
                </Show>
                {text_field(td_string!(locale, admin.department), "admin-department", department, "text")}
                {text_field(td_string!(locale, admin.badge), "admin-badge", badge, "text")}
                {text_field(td_string!(locale, admin.phone), "admin-phone", phone, "tel")}
                <fieldset class="roles">
                    <legend>{t!(i18n, admin.roles)}</legend>
                    {role_boxes}
                </fieldset>
                <Show when=move || !retired()>
                    <button type="submit" class="primary big" data-testid="admin-save" disabled=move || busy.get()>
                        {t!(i18n, admin.save)}
                    </button>
                </Show>
            </form>
            <Show when=move || !is_new && !retired()>
                <div class="admin-section">
                    <h4>{t!(i18n, admin.pin_title)}</h4>
                    <div class="inline-form">
                        <input
                            type="password"
                            inputmode="numeric"
                            pattern="[0-9]*"
                            autocomplete="new-password"
                            class="pin"
                            data-testid="admin-new-pin"
                            aria-label=move || t_string!(i18n, admin.new_pin)
                            placeholder=move || t_string!(i18n, admin.new_pin)
                            prop:value=move || new_pin.get()
                            on:input=move |ev| {
                                problem.set(None);
                                new_pin.set(event_target_value(&ev));
                            }
                        />
                        <button class="secondary big" data-testid="admin-set-pin" disabled=move || busy.get()
                            on:click=move |_| set_pin()>
                            {t!(i18n, admin.set_pin)}
                        </button>
                    </div>
                </div>
                <div class="admin-section">
                    <h4>{t!(i18n, admin.freeze_title)}</h4>
                    <p class="hint">{t!(i18n, admin.freeze_hint)}</p>
                    <div class="inline-form">
                        {reason_field("admin-freeze-reason", freeze_reason)}
                        <button
                            class=move || if frozen() { "secondary big" } else { "danger big" }
                            data-testid=move || if frozen() { "admin-unfreeze" } else { "admin-freeze" }
                            disabled=move || busy.get()
                            on:click=freeze
                        >
                            {move || if frozen() { t!(i18n, admin.unfreeze).into_any() } else { t!(i18n, admin.freeze).into_any() }}
                        </button>
                    </div>
                </div>
                <div class="admin-section">
                    <h4>{t!(i18n, admin.certificates)}</h4>
                    {certificates}
                </div>
                <div class="admin-section">
                    <h4>{t!(i18n, admin.retire_title)}</h4>
                    <p class="hint">{t!(i18n, admin.retire_hint)}</p>
                    <div class="inline-form">
                        {reason_field("admin-retire-reason", retire_reason)}
                        <button class="danger big" data-testid="admin-retire" disabled=move || busy.get() on:click=retire>
                            {move || if retire_asked.get() { t!(i18n, admin.retire_confirm).into_any() } else { t!(i18n, admin.retire).into_any() }}
                        </button>
                    </div>
                </div>
            </Show>
            <Show when=move || is_new>
                <p class="hint">{t!(i18n, admin.pin_after_save)}</p>
            </Show>
        </div>
    }
}

/// What a print sheet holds: the badges of the people a search finds (with a badge id), or the
/// posters of every work location.
#[derive(Clone, Debug, PartialEq)]
enum Sheet {
    Badges(String),
    Posters,
}

/// A sheet of QR codes for A4 paper (several badges, or two posters, a page), shown first as a
/// preview: printed from there, or closed.
#[component]
fn PrintSheet(sheet: Sheet, close: RwSignal<Option<Sheet>>) -> impl IntoView {
    let i18n = use_i18n();
    let app = use_app();
    let cards = app.directory.with_untracked(|d| {
        let Some(d) = d else { return Vec::new() };
        match &sheet {
            Sheet::Badges(query) => d
                .people
                .iter()
                .filter(|p| p.retired_ms.is_none() && !p.profile.badge.is_empty() && p.matches_search(query))
                .map(|p| {
                    let place = [p.profile.company.as_str(), p.profile.department.as_str()]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" · ");
                    view! {
                        <div class="sheet-card badge-card" data-testid="sheet-badge" data-name=p.name.clone()>
                            <QrImage text=ptw_core::codes::badge_text(&p.profile.badge)/>
                            <div class="sheet-text">
                                <strong>{p.name.clone()}</strong>
                                <span>{p.title.clone()}</span>
                                <span>{place}</span>
                                <code>{p.profile.badge.clone()}</code>
                            </div>
                        </div>
                    }
                    .into_any()
                })
                .collect(),
            Sheet::Posters => d
                .locations
                .iter()
                .map(|l| {
                    view! {
                        <div class="sheet-card poster-card" data-testid="sheet-poster" data-code=l.code.clone()>
                            <QrImage text=ptw_core::codes::location_text(&l.code)/>
                            <div class="sheet-text">
                                <strong>{l.name.clone()}</strong>
                                <span>{l.area.clone()}</span>
                                <code>{l.code.clone()}</code>
                                <span>{t!(i18n, admin.poster_scan)}</span>
                            </div>
                        </div>
                    }
                    .into_any()
                })
                .collect(),
        }
    });
    let count = cards.len();
    let print = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    view! {
        <div class="card sheet-preview" data-testid="print-sheet">
            <div class="actions-row no-print">
                <span class="hint">{move || fill(t_string!(i18n, admin.sheet_count), &[("count", &count)])}</span>
                <button class="primary big" data-testid="sheet-print" on:click=print>{t!(i18n, certificates.print)}</button>
                <button class="secondary big" data-testid="sheet-close" on:click=move |_| close.set(None)>{t!(i18n, admin.sheet_close)}</button>
            </div>
            <div class="print-sheet">{cards}</div>
        </div>
    }
}
