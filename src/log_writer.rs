//! The stdout log drain with group commit: each line is serialized where it is logged and added to
//! one pending buffer; the thread that finds nobody writing writes the buffer, and whatever other
//! threads added meanwhile, with one write each time, so lines logged together cost one system
//! call and no hand-off to another thread. A line tagged [`AUDIT_TAG_MORE`] (an audit record with
//! more of its batch to follow) waits for the next line, so that a batch is one write too. When
//! the buffer holds [`PENDING_BYTES`] while a write is under way (stdout is slow), loggers block
//! rather than drop lines.

use relay_actors::log_event::AUDIT_TAG_MORE;
use slog::{Drain, Never, OwnedKVList, Record};
use slog_json::Json;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// Bytes of lines that may wait for a write under way before logging blocks.
const PENDING_BYTES: usize = 1 << 20;

/// Lines waiting to be written, and whether a thread is writing.
#[derive(Default)]
struct State {
    pending: Vec<u8>,
    writing: bool,
}

/// The pending lines and where they go.
pub struct Lines<W> {
    state: Mutex<State>,
    /// Signalled after every write, for loggers waiting for room.
    written: Condvar,
    out: Mutex<W>,
}

impl<W: Write> Lines<W> {
    fn new(out: W) -> Self {
        Lines {
            state: Mutex::default(),
            written: Condvar::new(),
            out: Mutex::new(out),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a whole line, waiting while the buffer is full and being written.
    fn add(&self, line: &[u8]) {
        let mut state = self.state();
        while state.writing && state.pending.len() >= PENDING_BYTES {
            state = self
                .written
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.pending.extend_from_slice(line);
    }

    /// Writes what is pending unless another thread is at it (it then writes these lines too).
    fn write_pending(&self) {
        let mut state = self.state();
        if state.writing {
            return;
        }
        state.writing = true;
        while !state.pending.is_empty() {
            let batch = std::mem::take(&mut state.pending);
            drop(state);
            let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
            // A log line that cannot be written has nowhere else to go.
            let _ = out.write_all(&batch).and_then(|()| out.flush());
            drop(out);
            state = self.state();
            self.written.notify_all();
        }
        state.writing = false;
    }

    /// Waits for a write under way and writes what is left.
    fn finish(&self) {
        let mut state = self.state();
        while state.writing {
            state = self
                .written
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(state);
        self.write_pending();
    }
}

/// What the JSON drain writes into: one line, added to the pending lines when the drain flushes
/// after it.
pub struct LineWriter<W> {
    line: Vec<u8>,
    /// Set when serializing a line failed halfway: its beginning is discarded.
    torn: Arc<AtomicBool>,
    lines: Arc<Lines<W>>,
}

impl<W: Write> Write for LineWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.torn.swap(false, Ordering::Relaxed) {
            self.line.clear();
        }
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            self.lines.add(&self.line);
            self.line.clear();
        }
        Ok(())
    }
}

/// A JSON drain over the pending lines. Lines are serialized and added under one lock, so they
/// keep the order in which they were logged; the write happens after that lock is released, so
/// that other threads' lines can join it. A line that says more follow is not written on its
/// own: the line that ends its batch, or any other line, writes it.
pub struct GroupedJson<W: Write> {
    json: Mutex<Json<LineWriter<W>>>,
    torn: Arc<AtomicBool>,
    lines: Arc<Lines<W>>,
}

impl<W: Write> Drain for GroupedJson<W> {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), Never> {
        {
            let json = self.json.lock().unwrap_or_else(PoisonError::into_inner);
            if json.log(record, values).is_err() {
                // A record that cannot be serialized is not worth a panic; what it left
                // unfinished is not written.
                self.torn.store(true, Ordering::Relaxed);
            }
        }
        if record.tag() != AUDIT_TAG_MORE {
            self.lines.write_pending();
        }
        Ok(())
    }
}

/// Writes what is still pending when dropped.
pub struct LinesGuard<W: Write> {
    lines: Arc<Lines<W>>,
}

impl<W: Write> Drop for LinesGuard<W> {
    fn drop(&mut self) {
        self.lines.finish();
    }
}

/// A drain made by `json` (which must flush after each line) over lines grouped into writes to
/// `out`.
pub fn grouped<W: Write>(
    out: W,
    json: impl FnOnce(LineWriter<W>) -> Json<LineWriter<W>>,
) -> (GroupedJson<W>, LinesGuard<W>) {
    let lines = Arc::new(Lines::new(out));
    let torn = Arc::new(AtomicBool::new(false));
    let writer = LineWriter {
        line: Vec::with_capacity(1024),
        torn: Arc::clone(&torn),
        lines: Arc::clone(&lines),
    };
    let drain = GroupedJson {
        json: Mutex::new(json(writer)),
        torn,
        lines: Arc::clone(&lines),
    };
    (drain, LinesGuard { lines })
}

#[cfg(test)]
#[path = "log_writer_tests.rs"]
mod tests;
