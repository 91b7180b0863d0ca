//! The device's alert inbox (R-ALERT): the alert engine run over the watches kept with the
//! permits' rows and over the registry, at this device's trusted time. Nothing is stored: the
//! inbox is computed afresh each time it is asked for, so a time-based alert is never stale.

use crate::permits::parse_watch;
use crate::{Result, Store};
use chrono::{DateTime, Utc};
use ptw_core::alerts::{self, Raised};
use ptw_core::api::{Inbox, InboxItem, PermitView};
use ptw_core::{PermitId, PersonId};
use std::collections::HashMap;

/// A permit's number, title, and type and grade.
type Named = (String, String, (String, String));

impl Store {
    /// Every alert on this device at trusted `now`, with the permit's number and title.
    pub fn alerts_at(&self, now: DateTime<Utc>) -> Result<(Vec<InboxItem>, i64)> {
        let now_ms = self.trusted_now(now)?.ms;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT number, title, permit_type, grade, watch FROM permits WHERE watch IS NOT NULL")?;
        let rows = stmt.query_map([], |r| {
            Ok(((r.get::<_, String>(0)?, r.get::<_, String>(1)?, (r.get(2)?, r.get(3)?)), r.get::<_, String>(4)?))
        })?;
        let mut names: HashMap<PermitId, Named> = HashMap::new();
        let mut watches = Vec::new();
        for row in rows {
            let (named, watch) = row?;
            let watch = parse_watch(&watch)?;
            names.insert(watch.permit, named);
            watches.push(watch);
        }
        let items = alerts::scan(&watches, &self.registry, now_ms)
            .into_iter()
            .map(|alert: Raised| match alert.permit().and_then(|p| names.get(&p)).cloned() {
                Some((number, title, permit_type)) => {
                    InboxItem { alert, number: Some(number), title: Some(title), permit_type: Some(permit_type) }
                }
                None => InboxItem { alert, number: None, title: None, permit_type: None },
            })
            .collect();
        Ok((items, now_ms))
    }

    /// `view` with its conflicts (SIMOPS) with the other live permits on this device at `now`
    /// among its alerts: a permit's own derivation cannot see the others.
    pub fn with_conflicts(&self, mut view: PermitView, now: DateTime<Utc>) -> Result<PermitView> {
        let rules = &self.registry.catalog.alerting.conflicts;
        if !rules.iter().any(|r| r.types.contains(&view.form.permit_type)) {
            return Ok(view);
        }
        let mut stmt = self.conn.prepare_cached("SELECT permit_type, watch FROM permits WHERE watch IS NOT NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut watches = Vec::new();
        for row in rows {
            let (permit_type, watch) = row?;
            if rules.iter().any(|r| r.types.contains(&permit_type)) {
                watches.push(parse_watch(&watch)?);
            }
        }
        let all: Vec<_> = watches.iter().collect();
        let now_ms = self.trusted_now(now)?.ms;
        for r in alerts::conflict_alerts(&all, &self.registry, now_ms) {
            if r.permit() == Some(view.id) && !view.state.alerts.contains(&r.alert) {
                view.state.alerts.push(r.alert);
            }
        }
        Ok(view)
    }

    /// The alerts `person` must act on at trusted `now` (everyone's with `None`), the
    /// unacknowledged first, counted.
    pub fn inbox(&self, person: Option<PersonId>, now: DateTime<Utc>) -> Result<Inbox> {
        let (all, at_ms) = self.alerts_at(now)?;
        let mut items: Vec<InboxItem> =
            all.into_iter().filter(|i| person.is_none_or(|p| i.alert.act.contains(&p))).collect();
        // Stable: the engine's order (most severe, then soonest) holds within each half.
        items.sort_by_key(|i| i.alert.acknowledged.is_some());
        let open = items.iter().filter(|i| i.alert.acknowledged.is_none());
        let critical = open.clone().filter(|i| i.alert.severity == alerts::Severity::Critical).count() as u32;
        Ok(Inbox { open: open.count() as u32, critical, items, at_ms })
    }
}
