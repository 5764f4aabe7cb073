//! Where log lines go: stderr, written in batches by a thread of their own.
//!
//! Every request writes one access line. Written straight to stderr, that is a system call on
//! the request's path, and a slow reader of the pipe would hold every request up. Handed to a
//! writer thread one line at a time (what `tracing-appender`'s non-blocking writer does), the
//! system call moves off the path but each line wakes the writer, and under load those
//! wake-ups cost more than the write they save (docs/BENCHMARKS.md, "A request's cost").
//!
//! So a request appends its line to a shared buffer and goes on; the writer thread wakes
//! [`FLUSH_EVERY`] and writes whatever has gathered in one call. Nothing is dropped: a buffer
//! that reaches [`FLUSH_AT_BYTES`] is written at once by the request that filled it. The price
//! is that a line can reach stderr up to [`FLUSH_EVERY`] late, and that a process killed
//! outright (SIGKILL, an abort) loses at most that much; a normal exit writes everything, in
//! order, when the [`Flusher`] is dropped.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How often the writer thread writes what has gathered.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// A buffer this full is written at once, by whoever filled it: memory stays bounded however
/// fast lines arrive.
pub const FLUSH_AT_BYTES: usize = 256 * 1024;

/// The shared buffer, and where its batches go.
struct Shared {
    pending: Mutex<Vec<u8>>,
    /// stderr, in the service. Locked while a batch is taken and written, so two batches never
    /// reach it out of order.
    output: Mutex<Box<dyn Write + Send>>,
    stopping: AtomicBool,
}

impl Shared {
    fn new(output: impl Write + Send + 'static) -> Shared {
        Shared {
            pending: Mutex::default(),
            output: Mutex::new(Box::new(output)),
            stopping: AtomicBool::new(false),
        }
    }

    /// Writes everything gathered so far.
    fn flush(&self) {
        let mut output = lock(&self.output);
        let batch = std::mem::take(&mut *lock(&self.pending));
        if !batch.is_empty() {
            // Nowhere to report a failed write to stderr; the lines are lost either way.
            let _ = output.write_all(&batch);
            let _ = output.flush();
        }
    }
}

/// A lock that survives a panic elsewhere: the buffer holds whole lines or nothing.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `MakeWriter` that `tracing_subscriber::fmt` writes each formatted line through.
#[derive(Clone)]
pub struct Batched {
    shared: Arc<Shared>,
}

/// Keeps the writer thread running; dropping it writes what is left and stops the thread.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A writer to `output` (stderr, in the service) in batches, and the [`Flusher`] to keep until
/// the program ends.
pub fn batched(output: impl Write + Send + 'static) -> io::Result<(Batched, Flusher)> {
    let shared = Arc::new(Shared::new(output));
    let thread = thread::Builder::new().name("mercado-log".into()).spawn({
        let shared = shared.clone();
        move || {
            while !shared.stopping.load(Ordering::Acquire) {
                thread::park_timeout(FLUSH_EVERY);
                shared.flush();
            }
        }
    })?;
    Ok((
        Batched {
            shared: shared.clone(),
        },
        Flusher {
            shared,
            thread: Some(thread),
        },
    ))
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        self.shared.flush();
    }
}

impl Write for Batched {
    /// Appends one formatted line (the formatter writes each line in one call).
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let full = {
            let mut pending = lock(&self.shared.pending);
            pending.extend_from_slice(line);
            pending.len() >= FLUSH_AT_BYTES
        };
        if full {
            self.shared.flush();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Batched;

    fn make_writer(&'a self) -> Batched {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_gather_until_flushed_and_arrive_whole_and_in_order() {
        let sink = Sink::default();
        let (mut writer, flusher) = batched(sink.clone()).unwrap();
        writer.write_all(b"first\n").unwrap();
        writer.write_all(b"second\n").unwrap();
        // A full buffer is written at once, by the writer that filled it.
        let long = [b"x".repeat(FLUSH_AT_BYTES), b"\n".to_vec()].concat();
        writer.write_all(&long).unwrap();
        assert!(lock(&writer.shared.pending).is_empty());
        writer.write_all(b"last\n").unwrap();
        // Dropping the flusher writes what is left, after everything before it.
        drop(flusher);
        let written = lock(&sink.0).clone();
        let expected = [b"first\nsecond\n".to_vec(), long, b"last\n".to_vec()].concat();
        assert_eq!(written, expected);
    }
}
