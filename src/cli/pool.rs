//! A tiny ordered worker pool for batch commands.
//!
//! Files are analysed on `jobs` threads but reported in the order given, as soon as
//! every earlier file is done, so output is deterministic and still streams.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;

/// Runs `work` over `items` on `jobs` threads and calls `report` in item order.
pub fn ordered<T, R, W, F>(items: &[T], jobs: usize, work: W, mut report: F)
where
    T: Sync,
    R: Send,
    W: Fn(&T) -> R + Sync,
    F: FnMut(usize, &T, R),
{
    let next = AtomicUsize::new(0);
    let (tx, rx) = channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    if tx.send((i, work(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut due = 0;
        for (i, r) in rx {
            pending.insert(i, r);
            while let Some(r) = pending.remove(&due) {
                report(due, &items[due], r);
                due += 1;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_in_order_whatever_finishes_first() {
        let items: Vec<u64> = (0..20).collect();
        let mut seen = Vec::new();
        super::ordered(
            &items,
            4,
            |&i| {
                // Later items finish first.
                std::thread::sleep(std::time::Duration::from_millis(20 - i));
                i * 2
            },
            |idx, &item, r| seen.push((idx, item, r)),
        );
        let expected: Vec<(usize, u64, u64)> = (0..20).map(|i| (i as usize, i, i * 2)).collect();
        assert_eq!(seen, expected);
    }
}
