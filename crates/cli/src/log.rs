//! The twin's log writer.
//!
//! Formatted lines are appended to a buffer in memory, and one thread
//! writes the buffer to standard error: it wakes for the first line after
//! a quiet spell, gathers what follows for up to [`LINGER`] (less when
//! [`EARLY_BYTES`] are waiting), and writes it all at once. A request never
//! waits for the terminal or the file, and under load the writing thread
//! wakes some fifty times a second instead of once per request: waking it
//! for every line cost the twin about 12% of its `AssumeRole` throughput
//! (docs/benchmarks-twin.md). No line is dropped: past [`MAX_BYTES`]
//! waiting, a logging thread waits for the writer. Dropping the
//! [`LogGuard`] writes what is left.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer gathers lines after the first one.
const LINGER: Duration = Duration::from_millis(20);
/// Waiting bytes that end the gathering early.
const EARLY_BYTES: usize = 64 * 1024;
/// Waiting bytes past which a logging thread waits for the writer.
const MAX_BYTES: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Lines arrived (the first after a write, or many), or closing.
    arrived: Condvar,
    /// The writer took the buffer.
    taken: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A thread that panicked while holding the lock left whole lines
        // behind (the buffer is only ever extended by a whole write).
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, bytes: &[u8]) {
        let mut pending = self.lock();
        while pending.bytes.len() >= MAX_BYTES && !pending.closed {
            pending = self
                .taken
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let first = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(bytes);
        let many = pending.bytes.len() >= EARLY_BYTES;
        drop(pending);
        if first || many {
            self.arrived.notify_one();
        }
    }

    /// The writing thread: until closed and drained.
    fn drain(&self, out: &mut dyn Write) {
        let mut batch = Vec::new();
        loop {
            let mut pending = self.lock();
            while pending.bytes.is_empty() && !pending.closed {
                pending = self
                    .arrived
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            let until = Instant::now() + LINGER;
            while pending.bytes.len() < EARLY_BYTES && !pending.closed {
                let Some(left) = until.checked_duration_since(Instant::now()) else {
                    break;
                };
                pending = self
                    .arrived
                    .wait_timeout(pending, left)
                    .map_or_else(|e| e.into_inner().0, |(guard, _)| guard);
            }
            std::mem::swap(&mut batch, &mut pending.bytes);
            let closed = pending.closed;
            drop(pending);
            self.taken.notify_all();
            // Standard error gone (a closed pipe): nothing else to tell.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            batch.clear();
            if closed && self.lock().bytes.is_empty() {
                return;
            }
        }
    }
}

/// What `tracing_subscriber` writes formatted events to.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

/// Keeps the writing thread; dropping it writes what is left and stops it.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A writer to standard error and the guard of its thread.
pub fn stderr_writer() -> std::io::Result<(LogWriter, LogGuard)> {
    writer_to(std::io::stderr())
}

fn writer_to(mut out: impl Write + Send + 'static) -> std::io::Result<(LogWriter, LogGuard)> {
    let shared = Arc::new(Shared::default());
    let drained = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("orgtwin-log".into())
        .spawn(move || drained.drain(&mut out))?;
    Ok((
        LogWriter {
            shared: Arc::clone(&shared),
        },
        LogGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.arrived.notify_one();
        self.shared.taken.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One formatted event (the formatter writes each event whole, once).
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what the writer writes, and how many writes it made.
    #[derive(Clone, Default)]
    struct Out(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Out {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut out = self.0.lock().unwrap();
            out.0.extend_from_slice(buf);
            out.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_from_many_threads_before_the_guard_returns() {
        let out = Out::default();
        let (writer, guard) = writer_to(out.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5_000 {
                        // Whole, as the formatter writes an event.
                        let line = format!("thread {t} line {i}\n");
                        writer.make_writer().write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let (bytes, writes) = out.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), 20_000);
        for t in 0..4 {
            let numbers: Vec<usize> = text
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(numbers, (0..5_000).collect::<Vec<_>>(), "thread {t}");
        }
        // Gathered, not one write per line.
        assert!(writes < 20_000, "{writes} writes for 20,000 lines");
    }

    #[test]
    fn a_full_buffer_makes_the_logging_thread_wait_not_drop() {
        let out = Out::default();
        let (writer, guard) = writer_to(out.clone()).unwrap();
        let line = vec![b'x'; 1024 * 1024];
        for _ in 0..20 {
            writer.make_writer().write_all(&line).unwrap();
        }
        drop(guard);
        assert_eq!(out.0.lock().unwrap().0.len(), 20 * 1024 * 1024);
    }
}
