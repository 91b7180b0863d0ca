//! Telling connected devices that something changed, so a change reaches another online tablet
//! at once instead of at its next timed round: a device holds `GET /api/sync/wait` open with its
//! pull cursor, and the answer comes as soon as the writer stores a change beyond it or the
//! registry gains an entry beyond the device's (or after [`MAX_WAIT_MS`]). The device then pulls
//! as usual; the wait carries no data, so it needs no rules of its own.
//!
//! What other server instances sharing a PostgreSQL database store is not seen here; their
//! devices' changes arrive at the next timed round (the wait answers "nothing new" by then).

use ptw_core::sync::MAX_WAIT_MS;
use std::time::Duration;
use tokio::sync::watch;

/// Where the stored changes and the registry stand, for the waits.
pub struct ChangeFeed {
    changes: watch::Sender<i64>,
    /// The registry's newest entry, as [`crate::registry::ServerRegistry`] sets it.
    registry: watch::Receiver<Option<u64>>,
}

/// What a wait asks about: the device's pull cursor and registry head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub since: i64,
    pub registry_after: Option<u64>,
}

impl ChangeFeed {
    pub fn new(max_seq: i64, registry: watch::Receiver<Option<u64>>) -> ChangeFeed {
        ChangeFeed { changes: watch::Sender::new(max_seq), registry }
    }

    /// The writer stored changes up to `max_seq`.
    pub fn changes_stored(&self, max_seq: i64) {
        self.changes.send_if_modified(|seq| {
            let newer = max_seq > *seq;
            if newer {
                *seq = max_seq;
            }
            newer
        });
    }

    /// The newest change number and registry entry.
    pub fn position(&self) -> (i64, Option<u64>) {
        (*self.changes.borrow(), *self.registry.borrow())
    }

    /// Waits until there is something beyond `held` to pull, or `timeout` (at most
    /// [`MAX_WAIT_MS`]) passes; `true` when there is.
    pub async fn wait(&self, held: Held, timeout: Duration) -> bool {
        let timeout = timeout.min(Duration::from_millis(MAX_WAIT_MS));
        let deadline = tokio::time::Instant::now() + timeout;
        let (mut changes, mut registry) = (self.changes.subscribe(), self.registry.clone());
        loop {
            if *changes.borrow_and_update() > held.since || *registry.borrow_and_update() > held.registry_after {
                return true;
            }
            let woke = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    r = changes.changed() => r.is_ok(),
                    r = registry.changed() => r.is_ok(),
                }
            })
            .await;
            if !matches!(woke, Ok(true)) {
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn held(since: i64, registry_after: Option<u64>) -> Held {
        Held { since, registry_after }
    }

    /// A feed at change `max_seq` and registry entry `head`, and the registry's side of it.
    fn feed(max_seq: i64, head: Option<u64>) -> (ChangeFeed, watch::Sender<Option<u64>>) {
        let (registry, heads) = watch::channel(head);
        (ChangeFeed::new(max_seq, heads), registry)
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_answers_at_once_when_the_device_is_behind() {
        let (feed, _registry) = feed(7, Some(3));
        assert!(feed.wait(held(6, Some(3)), Duration::from_secs(10)).await);
        assert!(feed.wait(held(7, Some(2)), Duration::from_secs(10)).await);
        assert!(feed.wait(held(7, None), Duration::from_secs(10)).await);
        assert!(!feed.wait(held(7, Some(3)), Duration::from_secs(10)).await, "nothing new: the timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_wait_answers_when_a_change_or_a_registry_entry_is_stored() {
        let (feed, registry) = feed(7, Some(3));
        let feed = Arc::new(feed);
        let f = feed.clone();
        let waiting = tokio::spawn(async move { f.wait(held(7, Some(3)), Duration::from_secs(20)).await });
        tokio::task::yield_now().await;
        feed.changes_stored(8);
        assert!(waiting.await.unwrap_or(false));

        let f = feed.clone();
        let waiting = tokio::spawn(async move { f.wait(held(8, Some(3)), Duration::from_secs(20)).await });
        tokio::task::yield_now().await;
        // Not beyond what the device holds: the wait goes on.
        feed.changes_stored(8);
        registry.send_replace(Some(3));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        registry.send_replace(Some(4));
        assert!(waiting.await.unwrap_or(false));
        assert_eq!(feed.position(), (8, Some(4)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_is_held_no_longer_than_the_cap() {
        let (feed, _registry) = feed(1, None);
        let started = tokio::time::Instant::now();
        assert!(!feed.wait(held(1, None), Duration::from_secs(3600)).await);
        assert_eq!(started.elapsed(), Duration::from_millis(MAX_WAIT_MS));
    }
}
