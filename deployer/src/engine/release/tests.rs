//! Tests of the release's own parts: bounded parallelism.

use super::apply::join_bounded;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn services_run_in_parallel_but_never_more_than_the_bound() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..7u64)
        .map(|i| {
            let (running, most) = (running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(10 - i)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i
            }
        })
        .collect();
    let started = tokio::time::Instant::now();
    let out = join_bounded(futures, 3).await;
    assert_eq!(out, vec![0, 1, 2, 3, 4, 5, 6], "results keep their order");
    assert_eq!(most.load(Ordering::SeqCst), 3);
    // Sequentially this would take 10+9+…+4 = 49 s.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
