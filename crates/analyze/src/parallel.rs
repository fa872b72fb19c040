//! Work shared among the machine's cores with `std::thread::scope`, every
//! result put back in its place: the answer is the same whatever the number
//! of threads and whichever thread took which job.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `job(0)`, ..., `job(jobs - 1)`, on up to `threads` threads, each taking
/// the next job when done with one; the results in job order.
pub(crate) fn run<R: Send>(jobs: usize, threads: usize, job: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, jobs.max(1));
    if threads == 1 {
        return (0..jobs).map(job).collect();
    }
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            if index >= jobs {
                return done;
            }
            done.push((index, job(index)));
        }
    };
    let mut all: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    all.sort_unstable_by_key(|(index, _)| *index);
    all.into_iter().map(|(_, r)| r).collect()
}

/// `f` of every item, on up to `threads` threads, in item order.
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    const CHUNK: usize = 256;
    run(items.len().div_ceil(CHUNK), threads, |chunk| {
        items
            .iter()
            .skip(chunk * CHUNK)
            .take(CHUNK)
            .map(&f)
            .collect::<Vec<R>>()
    })
    .into_iter()
    .flatten()
    .collect()
}
