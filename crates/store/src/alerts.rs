//! The device's alert inbox (R-ALERT): the alert engine run over the watches kept with the
//! permits' rows and over the registry, at this device's trusted time. Nothing is stored: the
//! inbox is computed afresh each time it is asked for, so a time-based alert is never stale.

use crate::permits::parse_watch;
use crate::{Result, Store};
use chrono::{DateTime, Utc};
use ptw_core::alerts::{self, Raised};
use ptw_core::api::{Inbox, InboxItem};
use ptw_core::{PermitId, PersonId};
use std::collections::HashMap;

impl Store {
    /// Every alert on this device at trusted `now`, with the permit's number and title.
    pub fn alerts_at(&self, now: DateTime<Utc>) -> Result<(Vec<InboxItem>, i64)> {
        let now_ms = self.trusted_now(now)?.ms;
        let mut stmt =
            self.conn.prepare_cached("SELECT id, number, title, watch FROM permits WHERE watch IS NOT NULL")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut names: HashMap<PermitId, (String, String)> = HashMap::new();
        let mut watches = Vec::new();
        for row in rows {
            let (_, number, title, watch) = row?;
            let watch = parse_watch(&watch)?;
            names.insert(watch.permit, (number, title));
            watches.push(watch);
        }
        let items = alerts::scan(&watches, &self.registry, now_ms)
            .into_iter()
            .map(|alert: Raised| {
                let (number, title) = alert.permit().and_then(|p| names.get(&p)).cloned().unzip();
                InboxItem { alert, number, title }
            })
            .collect();
        Ok((items, now_ms))
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
