//! Permits on the device: create a draft, edit it, act on it, read it, list it.
//!
//! Each operation that writes runs in one immediate SQLite transaction that loads the document,
//! asks ptw-core whether the action is allowed, appends the signed event and stores change,
//! projection and outbox entry together.

use crate::error::{Result, StoreError};
use crate::{load_doc, new_uuid, next_clock, next_event, save_change, write_tx, Store};
use chrono::{DateTime, Utc};
use ptw_core::api::{Action, ListQuery, PermitLink, PermitSummary, PermitView};
use ptw_core::derive::{check, derive, derive_read, read_events, refresh_alerts, PermitState};
use ptw_core::form::{Field, FieldError, FieldProblem};
use ptw_core::signature::SignatureMemo;
use ptw_core::sync::PERMIT_KIND;
use ptw_core::{Event, EventId, EventKind, PermitForm, PermitId, PersonId, SignedEvent, Status};
use ptw_doc::LoadedPermit;
use rusqlite::OptionalExtension;
use rusqlite::{params, Connection, Transaction};

/// The most rows one list call returns; lists page beyond it.
pub const MAX_PAGE: u32 = 500;

/// How many loaded permits the store keeps in memory.
const CACHE_CAPACITY: usize = 64;

/// A permit loaded from its document and derived.
pub(crate) struct Loaded {
    doc: automerge::AutoCommit,
    number: String,
    form: PermitForm,
    events: Vec<String>,
    state: PermitState,
}

/// Recently used permits. Entries are taken out while a write uses them and put back only
/// after its commit, so a failed write never leaves a half-changed document behind.
#[derive(Default)]
pub(crate) struct PermitCache {
    entries: std::collections::HashMap<PermitId, Loaded>,
    /// SQLite's `data_version` when the entries (and the registry) were last known current: it
    /// changes when *another* connection — the background sync, a second app instance —
    /// commits to the database.
    pub(crate) data_version: i64,
}

impl PermitCache {
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    fn take(&mut self, id: PermitId) -> Option<Loaded> {
        self.entries.remove(&id)
    }

    fn put(&mut self, id: PermitId, loaded: Loaded) {
        if self.entries.len() >= CACHE_CAPACITY {
            // Evict the least recently changed permit.
            if let Some(oldest) = self.entries.iter().min_by_key(|(_, l)| l.state.last_hlc).map(|(k, _)| *k) {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(id, loaded);
    }
}

impl Store {
    /// Save a new draft permit filed by `actor`, who becomes its applicant.
    pub fn create_permit(&mut self, actor: PersonId, mut form: PermitForm, now: DateTime<Utc>) -> Result<PermitView> {
        // Only `revise` links a draft to the permit it revises.
        form.revises = None;
        self.create(actor, form, now)
    }

    /// A rejected permit revised (修改后重新提交): a new draft by its applicant with the form
    /// the rejected one was submitted with, linked to it. The rejected permit stays as it is.
    pub fn revise(&mut self, actor: PersonId, rejected: PermitId, now: DateTime<Utc>) -> Result<PermitView> {
        self.refresh()?;
        let old = self.permit(rejected, now)?;
        if old.state.status != Status::Rejected {
            return Err(StoreError::Refused(ptw_core::Violation::NotAllowedInStatus {
                action: "revise".into(),
                status: old.state.status,
            }));
        }
        if old.state.form.applicant != Some(actor) {
            return Err(StoreError::Refused(ptw_core::Violation::NotApplicant));
        }
        let mut form = old.state.form;
        form.revises = Some(rejected);
        self.create(actor, form, now)
    }

    /// A permit used as a template (复制为新票): a new draft by `actor` with its work, place,
    /// people, hazards and precautions, and none of its dates, signatures or gas tests (those
    /// are events of the old permit, and the new one has none).
    pub fn copy_as_template(&mut self, actor: PersonId, from: PermitId, now: DateTime<Utc>) -> Result<PermitView> {
        self.refresh()?;
        let old = self.permit(from, now)?;
        let form = PermitForm {
            planned_start: None,
            planned_end: None,
            applicant: None,
            revises: None,
            assignees: Default::default(),
            ..old.state.form
        };
        self.create(actor, form, now)
    }

    /// `view` with the permits it revises and is revised by, and whether changes to it wait
    /// to go to the sync server.
    pub fn with_links(&self, mut view: PermitView) -> Result<PermitView> {
        let link = |r: &rusqlite::Row| -> rusqlite::Result<(String, String)> { Ok((r.get(0)?, r.get(1)?)) };
        let parse = |(id, number): (String, String)| -> Result<PermitLink> {
            let id = id.parse().map_err(|_| StoreError::Corrupt(format!("permit id '{id}'")))?;
            Ok(PermitLink { id, number })
        };
        // A link counts only between a rejected permit and a draft of its own applicant: the
        // form's `revises` is a device's word, and another device's permit must not be made to
        // look revised (or superseded) by someone else's draft.
        if let Some(old) = view.form.revises {
            let found = self
                .conn
                .query_row(
                    "SELECT id, number FROM permits WHERE id = ?1 AND status = ?2 AND applicant_id = ?3",
                    params![old.to_string(), Status::Rejected.code(), view.form.applicant.map(|p| p.to_string())],
                    link,
                )
                .optional()?;
            view.links.revises = found.map(parse).transpose()?;
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.number FROM permits r JOIN permits o ON o.id = r.revises
             WHERE r.revises = ?1 AND o.status = ?2 AND r.applicant_id = o.applicant_id ORDER BY r.number",
        )?;
        let rows = stmt
            .query_map(params![view.id.to_string(), Status::Rejected.code()], link)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        view.links.revised_by = rows.into_iter().map(parse).collect::<Result<_>>()?;
        view.links.photo_reuse = self.photo_reuse(&view)?;
        view.pending = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE doc_id = ?1)",
            [view.id.to_string()],
            |r| r.get(0),
        )?;
        Ok(view)
    }

    fn create(&mut self, actor: PersonId, mut form: PermitForm, now: DateTime<Utc>) -> Result<PermitView> {
        self.refresh()?;
        let (actor_id, _) = self.writer()?;
        form.applicant = Some(actor);
        let ptype = self.registry.catalog.permit_type(&form.permit_type).ok_or_else(|| {
            StoreError::InvalidForm(vec![FieldError {
                field: Field::PermitType,
                problem: FieldProblem::UnknownPermitType,
            }])
        })?;
        if ptype.grade(&form.grade).is_none() {
            return Err(StoreError::InvalidForm(vec![FieldError {
                field: Field::Grade,
                problem: FieldProblem::UnknownGrade,
            }]));
        }
        self.registry.person(actor).ok_or(StoreError::BadCredentials)?;
        let id = PermitId(new_uuid(now));
        let simple = id.0.simple().to_string();
        let number =
            format!("{}-{}-{}", ptype.number_prefix, now.format("%Y%m%d"), simple[simple.len() - 6..].to_uppercase());
        let tx = write_tx(&mut self.conn)?;
        let mut doc = automerge::AutoCommit::new();
        doc.set_actor(actor_id);
        ptw_doc::init_permit(&mut doc, &id.to_string(), &number, &form)?;
        let hlc = next_clock(&tx, Default::default(), now.timestamp_millis())?;
        save_change(&tx, &id.to_string(), PERMIT_KIND, &mut doc, hlc)?;
        let state = derive(id, &form, &[], &self.registry, now);
        let view = PermitView::new(id, number, state);
        write_projection(&tx, &view, updated_ms(&mut doc, &view.state), &self.registry)?;
        tx.commit()?;
        Ok(view)
    }

    /// Edit a draft. Only the applicant edits, and only while the permit is a draft.
    pub fn update_draft(
        &mut self,
        actor: PersonId,
        id: PermitId,
        mut form: PermitForm,
        now: DateTime<Utc>,
    ) -> Result<PermitView> {
        let (actor_id, _) = self.writer()?;
        let tx = write_tx(&mut self.conn)?;
        freshen(&tx, &mut self.registry, &mut self.cache, &self.memo)?;
        self.cache.take(id); // about to change: whatever is cached is stale
        let (mut doc, loaded) = load_permit(&tx, id)?;
        let state = derive_read(id, &loaded.form, read_events(&loaded.events), &self.registry, now, Some(&self.memo));
        if state.status != Status::Draft {
            return Err(StoreError::Refused(ptw_core::Violation::NotAllowedInStatus {
                action: "edit".into(),
                status: state.status,
            }));
        }
        if loaded.form.applicant != Some(actor) {
            return Err(StoreError::Refused(ptw_core::Violation::NotApplicant));
        }
        // Type and applicant are fixed once filed: a different job is a different permit.
        form.permit_type = loaded.form.permit_type.clone();
        form.applicant = loaded.form.applicant;
        form.revises = loaded.form.revises;
        doc.set_actor(actor_id);
        ptw_doc::set_form(&mut doc, &form)?;
        let hlc = next_clock(&tx, state.last_hlc, now.timestamp_millis())?;
        save_change(&tx, &id.to_string(), PERMIT_KIND, &mut doc, hlc)?;
        let state = derive_read(id, &form, read_events(&loaded.events), &self.registry, now, Some(&self.memo));
        let view = PermitView::new(id, loaded.number, state);
        write_projection(&tx, &view, updated_ms(&mut doc, &view.state), &self.registry)?;
        tx.commit()?;
        Ok(view)
    }

    /// Do `action` on permit `id` as `actor`. Refused actions write nothing and say which rule
    /// refused them.
    pub fn act(&mut self, actor: PersonId, id: PermitId, action: Action, now: DateTime<Utc>) -> Result<PermitView> {
        self.act_signed(actor, id, action, None, now)
    }

    /// [`Store::act`] with the signer's handwritten signature: `handwriting` names a PNG kept
    /// here already ([`Store::put_signature`]), bound into the signed event with the hash of
    /// the form it signs.
    pub fn act_signed(
        &mut self,
        actor: PersonId,
        id: PermitId,
        action: Action,
        handwriting: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<PermitView> {
        // A photo is attached only once its picture and thumbnail are kept here
        // ([`Store::attach_photo`]): an event must not name pictures this device cannot show.
        if let Action::Photo { photo } = &action {
            for h in [&photo.blob, &photo.thumbnail] {
                if self.blob(h)?.is_none() {
                    return Err(StoreError::InvalidBlob(format!("the picture {h} is not on this device")));
                }
            }
        }
        if let Some(h) = &handwriting {
            match self.blob(h)? {
                Some((mime, _)) if mime == crate::photos::SIGNATURE_MIME => {}
                Some(_) => return Err(StoreError::InvalidBlob(format!("{h} is not a handwritten signature"))),
                None => return Err(StoreError::InvalidBlob(format!("the signature {h} is not on this device"))),
            }
        }
        let (actor_id, device) = self.writer()?;
        if self.is_revoked()? {
            return Err(StoreError::DeviceRevoked);
        }
        let tx = write_tx(&mut self.conn)?;
        freshen(&tx, &mut self.registry, &mut self.cache, &self.memo)?;
        let mut loaded = match self.cache.take(id) {
            Some(l) => l,
            None => load_and_derive(&tx, id, &self.registry, &self.memo, now)?,
        };
        let kind = event_kind(action, &loaded)?;
        let content_hash = match &kind {
            EventKind::Submit { form: Some(form) } => form.content_hash(),
            _ => loaded.state.form_hash.clone(),
        };
        let next_ev = next_event(&tx, &self.monotonic, loaded.state.last_hlc, now)?;
        let event = Event {
            id: EventId(new_uuid(now)),
            permit: id,
            at: next_ev.at,
            time: Some(next_ev.stamp),
            prev: next_ev.prev,
            device,
            actor,
            content_hash,
            handwriting,
            kind,
        };
        let next = match check(&loaded.state, &loaded.form, &self.registry, &event, now) {
            Ok(next) => next,
            Err(v) => {
                // Nothing changed: the loaded permit is still exact.
                drop(tx);
                self.cache.put(id, loaded);
                return Err(StoreError::Refused(v));
            }
        };
        let signed = SignedEvent::sign(&event, &self.identity.key);
        let stored = signed.to_stored();
        loaded.doc.set_actor(actor_id);
        ptw_doc::append_event(&mut loaded.doc, stored.clone())?;
        save_change(&tx, &id.to_string(), PERMIT_KIND, &mut loaded.doc, next_ev.at)?;
        crate::write_meta(&tx, "chain_head", &signed.hash())?;
        let view = PermitView::new(id, loaded.number.clone(), next);
        write_projection(&tx, &view, updated_ms(&mut loaded.doc, &view.state), &self.registry)?;
        tx.commit()?;
        loaded.events.push(stored);
        loaded.state = view.state.clone();
        self.cache.put(id, loaded);
        Ok(view)
    }

    /// Forget the permits held in memory (the next read loads from the database).
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Catch up with what other connections to the same database committed (the background
    /// sync applying pulled changes): reload the registry and forget cached permits. Cheap when
    /// nothing changed.
    pub fn refresh(&mut self) -> Result<()> {
        freshen(&self.conn, &mut self.registry, &mut self.cache, &self.memo)
    }

    /// A whole permit, derived at `now`.
    pub fn permit(&self, id: PermitId, now: DateTime<Utc>) -> Result<PermitView> {
        let current = crate::data_version(&self.conn)? == self.cache.data_version;
        if let Some(l) = self.cache.entries.get(&id).filter(|_| current) {
            let state = refresh_alerts(l.state.clone(), &l.form, &self.registry, now);
            return Ok(PermitView::new(id, l.number.clone(), state));
        }
        let (_, loaded) = load_permit(&self.conn, id)?;
        let state = derive_read(id, &loaded.form, read_events(&loaded.events), &self.registry, now, Some(&self.memo));
        Ok(PermitView::new(id, loaded.number, state))
    }

    /// `view` with what `person` may do to it now, by this device's registry.
    pub fn with_offers(&self, mut view: PermitView, person: PersonId) -> PermitView {
        view.offers = ptw_core::offers::offers(&view.state, &view.form, &self.registry, person);
        view.turn = ptw_core::offers::turn(&view.state, &view.form, &self.registry);
        view
    }

    /// The stored events of a permit, as kept in its document.
    pub fn stored_events(&self, id: PermitId) -> Result<Vec<String>> {
        Ok(load_permit(&self.conn, id)?.1.events)
    }

    /// A page of permits from the projection table, newest change first, that meet every
    /// filter of `query`.
    /// Each row's alert count is as of the permit's last write; [`Store::list_at`] counts them
    /// at a moment.
    pub fn list(&self, query: &ListQuery) -> Result<Vec<PermitSummary>> {
        self.list_rows(query, None)
    }

    /// [`Store::list`] with each row's alerts counted at `now` (this device's trusted time), so
    /// a time-based alert shows in the list the moment it is due.
    pub fn list_at(&self, query: &ListQuery, now: DateTime<Utc>) -> Result<Vec<PermitSummary>> {
        let now_ms = self.trusted_now(now)?.ms;
        self.list_rows(query, Some(now_ms))
    }

    fn list_rows(&self, query: &ListQuery, now_ms: Option<i64>) -> Result<Vec<PermitSummary>> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut sql = String::from(
            "SELECT id, number, permit_type, grade, title, location_id, status, current_step, applicant_id,
                guardian_id, planned_start_ms, planned_end_ms, updated_ms, alert_count, rejected_count, turn,
                EXISTS (SELECT 1 FROM permit_turns t WHERE t.permit_id = permits.id AND t.person_id = ?1),
                EXISTS (SELECT 1 FROM outbox o WHERE o.doc_id = permits.id), watch
             FROM permits WHERE 1 = 1",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![query.me.map(|p| p.to_string()).unwrap_or_default().into()];
        let mut arg = |sql: &mut String, clause: &str, value: rusqlite::types::Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(status) = query.status {
            arg(&mut sql, " AND status = ?", status.code().to_string().into());
        }
        if let Some(t) = &query.permit_type {
            arg(&mut sql, " AND permit_type = ?", t.clone().into());
        }
        if let Some(area) = &query.area {
            let places: Vec<String> =
                self.registry.locations.iter().filter(|l| &l.area == area).map(|l| l.id.to_string()).collect();
            let places = serde_json::to_string(&places).unwrap_or_else(|_| "[]".into());
            arg(&mut sql, " AND location_id IN (SELECT value FROM json_each(?))", places.into());
        }
        if let Some((from, to)) = query.planned_within {
            arg(&mut sql, " AND planned_start_ms < ?", to.into());
            arg(&mut sql, " AND planned_end_ms > ?", from.into());
        }
        if let Some(person) = query.waiting_for {
            arg(
                &mut sql,
                " AND id IN (SELECT permit_id FROM permit_turns WHERE person_id = ?)",
                person.to_string().into(),
            );
        }
        if let Some(text) = query.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let text: String = text.chars().take(ptw_core::api::MAX_SEARCH_CHARS).collect();
            let needle = text.to_lowercase();
            let pattern = format!("%{}%", needle.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            // Names live in the registry, not the rows: the people and locations whose names
            // hold the text, by id.
            let people: Vec<String> = self
                .registry
                .people
                .iter()
                .filter(|p| p.name.to_lowercase().contains(&needle))
                .map(|p| p.id.to_string())
                .collect();
            let places: Vec<String> = self
                .registry
                .locations
                .iter()
                .filter(|l| l.name.to_lowercase().contains(&needle))
                .map(|l| l.id.to_string())
                .collect();
            let ids = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
            arg(&mut sql, " AND (lower(number) LIKE ? ESCAPE '\\'", pattern.clone().into());
            arg(&mut sql, " OR lower(title) LIKE ? ESCAPE '\\'", pattern.into());
            arg(&mut sql, " OR location_id IN (SELECT value FROM json_each(?))", ids(&places).into());
            let people = ids(&people);
            arg(&mut sql, " OR applicant_id IN (SELECT value FROM json_each(?))", people.clone().into());
            arg(&mut sql, " OR guardian_id IN (SELECT value FROM json_each(?)))", people.into());
        }
        arg(&mut sql, " ORDER BY updated_ms DESC, id LIMIT ?", i64::from(limit).into());
        arg(&mut sql, " OFFSET ?", i64::from(query.offset).into());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok((summary_from_row(r)?, r.get::<_, Option<String>>(18)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (summary, watch) = row?;
            let mut summary = summary?;
            if let Some(now_ms) = now_ms {
                summary.alert_count = match watch {
                    Some(w) => ptw_core::alerts::permit_alerts(&parse_watch(&w)?, &self.registry, now_ms).len() as u32,
                    None => 0,
                };
            }
            out.push(summary);
        }
        Ok(out)
    }

    /// How many permits are in each status.
    pub fn status_counts(&self) -> Result<Vec<(Status, u64)>> {
        let mut stmt = self.conn.prepare_cached("SELECT status, COUNT(*) FROM permits GROUP BY status")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (code, n) = row?;
            let status = Status::from_code(&code).ok_or_else(|| StoreError::Corrupt(format!("status '{code}'")))?;
            out.push((status, n as u64));
        }
        Ok(out)
    }

    /// Write projection rows directly, for benchmarks that need a large register quickly.
    #[doc(hidden)]
    pub fn bench_fill_projections(&mut self, rows: &[PermitView], updated_ms: i64) -> Result<()> {
        let tx = write_tx(&mut self.conn)?;
        for (i, view) in rows.iter().enumerate() {
            write_projection(&tx, view, updated_ms + i as i64, &self.registry)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Take up what other connections committed since this store last looked: the registry, and
/// forget cached permits. Called inside a write transaction (which no one else can commit
/// during), an action is checked against exactly the registry and permit it is written over.
pub(crate) fn freshen(
    conn: &Connection,
    registry: &mut ptw_core::Registry,
    cache: &mut PermitCache,
    memo: &SignatureMemo,
) -> Result<()> {
    let version = crate::data_version(conn)?;
    if version != cache.data_version {
        *registry = crate::registry::load_registry(conn, memo)?;
        cache.clear();
        cache.data_version = version;
    }
    Ok(())
}

fn load_permit(conn: &Connection, id: PermitId) -> Result<(automerge::AutoCommit, LoadedPermit)> {
    let doc = load_doc(conn, &id.to_string())?.ok_or(StoreError::PermitNotFound(id))?;
    let loaded = ptw_doc::read_permit(&doc)?;
    Ok((doc, loaded))
}

fn load_and_derive(
    conn: &Connection,
    id: PermitId,
    registry: &ptw_core::Registry,
    memo: &SignatureMemo,
    now: DateTime<Utc>,
) -> Result<Loaded> {
    let (doc, LoadedPermit { number, form, events }) = load_permit(conn, id)?;
    let state = derive_read(id, &form, read_events(&events), registry, now, Some(memo));
    Ok(Loaded { doc, number, form, events, state })
}

/// Turn a person's request into the event to sign; steps are the one currently open. A submit
/// carries the draft as the document holds it: that is the form of record from then on.
fn event_kind(action: Action, loaded: &Loaded) -> Result<EventKind> {
    let state = &loaded.state;
    let open_step = || {
        state
            .current_step
            .clone()
            .ok_or_else(|| StoreError::Refused(ptw_core::Violation::StepNotOpen { step: String::new() }))
    };
    // The change waiting for approval, and its open step.
    let open_change = || {
        state
            .pending_change()
            .and_then(|c| Some((c.event.clone(), c.current_step.clone()?)))
            .ok_or_else(|| StoreError::Refused(ptw_core::Violation::NoSuchChange { change: String::new() }))
    };
    Ok(match action {
        Action::Submit => EventKind::Submit { form: Some(Box::new(loaded.form.clone())) },
        Action::RequestChange { change } => EventKind::ChangeRequest { change: Box::new(change) },
        Action::ApproveChange { comment } => {
            let (change, step) = open_change()?;
            EventKind::ApproveChange { change, step, comment }
        }
        Action::RejectChange { comment } => {
            let (change, step) = open_change()?;
            EventKind::RejectChange { change, step, comment }
        }
        Action::Approve { comment } => EventKind::Approve { step: open_step()?, comment },
        Action::Reject { comment } => EventKind::Reject { step: open_step()?, comment },
        Action::GasTest { reading } => EventKind::GasTest { reading },
        Action::Start => EventKind::Start,
        Action::Suspend { reason } => EventKind::Suspend { reason },
        Action::Resume => EventKind::Resume,
        Action::Complete => EventKind::Complete,
        Action::Entry { entrant, inside } => EventKind::Entry { entrant, inside },
        Action::Handover { to, plant_state, open_items } => EventKind::Handover { to, plant_state, open_items },
        Action::TakeOver => EventKind::TakeOver,
        Action::FireWatchEnd { note } => EventKind::FireWatchEnd { note },
        Action::CheckIn { badge, location } => EventKind::CheckIn { badge, location },
        Action::CheckOut { badge, location } => EventKind::CheckOut { badge, location },
        Action::Photo { photo } => EventKind::Photo { photo },
        Action::Acknowledge { alert } => EventKind::Acknowledge { alert },
        Action::Accept { comment } => EventKind::Accept { step: open_step()?, comment },
        Action::Cancel { reason } => EventKind::Cancel { reason },
        Action::Comment { text } => EventKind::Comment { text },
    })
}

/// When the permit last changed, as every device holding the same document computes it: the
/// latest of its last event's HLC and its heads' commit times. Never the local clock at write
/// time, which would make projections differ between devices.
pub(crate) fn updated_ms(doc: &mut automerge::AutoCommit, state: &PermitState) -> i64 {
    state.last_hlc.ms.max(heads_ms(doc))
}

/// When the newest of the document's heads was made (Unix ms, to the second).
pub(crate) fn heads_ms(doc: &mut automerge::AutoCommit) -> i64 {
    let heads = doc.get_heads();
    // The metadata, not the change: rebuilding a change from a loaded document is costly.
    let head_secs = heads.iter().filter_map(|h| doc.get_change_meta_by_hash(h).map(|m| m.timestamp)).max().unwrap_or(0);
    head_secs.saturating_mul(1000)
}

pub(crate) fn write_projection(
    tx: &Transaction,
    view: &PermitView,
    updated_ms: i64,
    registry: &ptw_core::Registry,
) -> Result<()> {
    let s = &view.state;
    let f = &view.form;
    let id = view.id.to_string();
    let turn = ptw_core::offers::turn(s, f, registry);
    let turn_json = serde_json::to_string(&turn).map_err(|e| StoreError::Corrupt(format!("turn of {id}: {e}")))?;
    let watch = ptw_core::alerts::PermitWatch::of(s, f, registry);
    let watch_json = match watch.is_empty() {
        true => None,
        false => Some(serde_json::to_string(&watch).map_err(|e| StoreError::Corrupt(format!("watch of {id}: {e}")))?),
    };
    tx.prepare_cached(
        "INSERT INTO permits (id, number, permit_type, grade, title, location_id, status, current_step, applicant_id,
            guardian_id, planned_start_ms, planned_end_ms, updated_ms, alert_count, rejected_count, turn, revises,
            watch)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         ON CONFLICT(id) DO UPDATE SET number = excluded.number, permit_type = excluded.permit_type,
            grade = excluded.grade, title = excluded.title, location_id = excluded.location_id,
            status = excluded.status, current_step = excluded.current_step, applicant_id = excluded.applicant_id,
            guardian_id = excluded.guardian_id, planned_start_ms = excluded.planned_start_ms,
            planned_end_ms = excluded.planned_end_ms, updated_ms = excluded.updated_ms,
            alert_count = excluded.alert_count, rejected_count = excluded.rejected_count, turn = excluded.turn,
            revises = excluded.revises, watch = excluded.watch",
    )?
    .execute(params![
        id,
        view.number,
        f.permit_type,
        f.grade,
        f.title,
        f.location.map(|l| l.to_string()),
        s.status.code(),
        s.current_step,
        f.applicant.map(|p| p.to_string()),
        f.guardian.map(|p| p.to_string()),
        f.planned_start.map(|t| t.timestamp_millis()),
        f.planned_end.map(|t| t.timestamp_millis()),
        updated_ms,
        s.alerts.len() as i64,
        s.rejected().count() as i64,
        turn_json,
        f.revises.map(|p| p.to_string()),
        watch_json,
    ])?;
    tx.prepare_cached("DELETE FROM photo_index WHERE permit_id = ?1")?.execute([&id])?;
    if !s.photos.is_empty() {
        let mut insert =
            tx.prepare_cached("INSERT OR IGNORE INTO photo_index (permit_id, blob, dhash) VALUES (?1, ?2, ?3)")?;
        for p in &s.photos {
            // The 64 bits as SQLite's signed integer, bit for bit.
            let bits = p.photo.dhash_bits().unwrap_or(0) as i64;
            insert.execute(params![id, p.photo.blob, bits])?;
        }
    }
    tx.prepare_cached("DELETE FROM permit_turns WHERE permit_id = ?1")?.execute([&id])?;
    if turn.action.is_some() {
        let mut insert =
            tx.prepare_cached("INSERT OR IGNORE INTO permit_turns (person_id, permit_id) VALUES (?1, ?2)")?;
        for person in ptw_core::offers::everyone_whose_turn(s, f, registry) {
            insert.execute(params![person.to_string(), id])?;
        }
    }
    Ok(())
}

pub(crate) fn parse_watch(json: &str) -> Result<ptw_core::alerts::PermitWatch> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("a permit's watch: {e}")))
}

fn summary_from_row(r: &rusqlite::Row) -> rusqlite::Result<Result<PermitSummary>> {
    let parse = |col: usize, v: Option<String>| -> Result<Option<uuid::Uuid>> {
        v.map(|s| uuid::Uuid::parse_str(&s).map_err(|_| StoreError::Corrupt(format!("projection column {col}: '{s}'"))))
            .transpose()
    };
    let id: String = r.get(0)?;
    let status: String = r.get(6)?;
    let location: Option<String> = r.get(5)?;
    let applicant: Option<String> = r.get(8)?;
    let guardian: Option<String> = r.get(9)?;
    let number: String = r.get(1)?;
    let permit_type: String = r.get(2)?;
    let grade: String = r.get(3)?;
    let title: String = r.get(4)?;
    let current_step: Option<String> = r.get(7)?;
    let planned_start_ms: Option<i64> = r.get(10)?;
    let planned_end_ms: Option<i64> = r.get(11)?;
    let updated_ms: i64 = r.get(12)?;
    let alert_count: i64 = r.get(13)?;
    let rejected_count: i64 = r.get(14)?;
    let turn: Option<String> = r.get(15)?;
    let mine: bool = r.get(16)?;
    let pending: bool = r.get(17)?;
    Ok((|| {
        Ok(PermitSummary {
            id: PermitId(parse(0, Some(id))?.ok_or_else(|| StoreError::Corrupt("permit id".into()))?),
            number,
            permit_type,
            grade,
            title,
            location: parse(5, location)?.map(Into::into),
            status: Status::from_code(&status).ok_or_else(|| StoreError::Corrupt(format!("status '{status}'")))?,
            current_step,
            applicant: parse(8, applicant)?.map(Into::into),
            guardian: parse(9, guardian)?.map(Into::into),
            planned_start_ms,
            planned_end_ms,
            updated_ms,
            alert_count: alert_count as u32,
            rejected_count: rejected_count as u32,
            turn: match turn {
                Some(t) => {
                    serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("turn of a permit: {e}")))?
                }
                None => Default::default(),
            },
            mine,
            pending,
        })
    })())
}
