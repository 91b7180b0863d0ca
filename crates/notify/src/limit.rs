//! The robots' rate limit (about 20 messages a minute each), kept by the sender rather than
//! learnt from refusals: what may go now, and when the next slot opens; and the digest that
//! folds what waits into one message when more waits than the window allows, so nothing is lost
//! and the limit holds.

/// At most `limit` sends in any `window_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Window {
    pub limit: usize,
    pub window_ms: i64,
}

impl Window {
    pub const ROBOT: Window = Window { limit: 20, window_ms: 60_000 };

    /// How many may go at `now_ms`, given the times of the sends so far.
    pub fn allowance(&self, sent_ms: &[i64], now_ms: i64) -> usize {
        let recent = sent_ms.iter().filter(|t| now_ms - **t < self.window_ms && **t <= now_ms).count();
        self.limit.saturating_sub(recent)
    }

    /// When the next send may go, if none may now.
    pub fn next_slot(&self, sent_ms: &[i64], now_ms: i64) -> i64 {
        if self.allowance(sent_ms, now_ms) > 0 {
            return now_ms;
        }
        let mut recent: Vec<i64> =
            sent_ms.iter().copied().filter(|t| now_ms - *t < self.window_ms && *t <= now_ms).collect();
        recent.sort_unstable();
        // The oldest send inside the window leaves it first.
        let drop = recent.len() + 1 - self.limit;
        recent.get(drop - 1).map_or(now_ms, |t| t + self.window_ms)
    }
}

/// How `waiting` messages go out with `allowance` sends: each alone while they fit; otherwise
/// the first `allowance - 1` alone and the rest as one digest (or all as one with a single
/// send). Returns the groups, in order; empty when nothing may go.
pub fn batches<T: Clone>(waiting: &[T], allowance: usize) -> Vec<Vec<T>> {
    if allowance == 0 || waiting.is_empty() {
        return Vec::new();
    }
    if waiting.len() <= allowance {
        return waiting.iter().map(|m| vec![m.clone()]).collect();
    }
    let alone = allowance - 1;
    let mut out: Vec<Vec<T>> = waiting[..alone].iter().map(|m| vec![m.clone()]).collect();
    out.push(waiting[alone..].to_vec());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_a_minute_then_a_slot_opens_when_the_oldest_leaves_the_window() {
        let w = Window::ROBOT;
        let sent: Vec<i64> = (0..20).map(|i| i * 1_000).collect();
        assert_eq!(w.allowance(&sent, 19_500), 0);
        assert_eq!(w.next_slot(&sent, 19_500), 60_000);
        assert_eq!(w.allowance(&sent, 60_000), 1, "the send at 0 left the window");
        assert_eq!(w.allowance(&sent[..5], 30_000), 15);
    }

    #[test]
    fn more_than_the_allowance_goes_as_singles_and_one_digest_and_nothing_is_dropped() {
        let waiting: Vec<u32> = (0..30).collect();
        let b = batches(&waiting, 5);
        assert_eq!(b.len(), 5);
        assert_eq!(b[..4], [vec![0], vec![1], vec![2], vec![3]]);
        assert_eq!(b[4], (4..30).collect::<Vec<_>>());
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), 30);
        assert_eq!(batches(&waiting[..3], 5).len(), 3);
        assert!(batches(&waiting, 0).is_empty());
        assert_eq!(batches(&waiting, 1), vec![waiting.clone()]);
    }
}
