//! The stdout log drain: each line is serialized where it is logged and queued for one writer
//! thread, which takes every line waiting when it wakes and writes them with one write, so a burst
//! of lines (an audit line per operation) costs one system call rather than one each. The queue is
//! bounded and a full queue blocks the logger: no line is dropped.

use slog::{Drain, Never, OwnedKVList, Record};
use slog_json::Json;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Lines that may wait for the writer before logging blocks.
const QUEUE_LINES: usize = 4096;

/// A write is cut here (a burst larger than this takes several).
const WRITE_BYTES: usize = 256 << 10;

enum Message {
    Line(Vec<u8>),
    /// Write what is queued, then stop.
    Finish,
}

/// What the JSON drain writes into: one line, queued when the drain flushes after it.
pub struct QueueWriter {
    line: Vec<u8>,
    /// Set when serializing a line failed halfway: its beginning is discarded.
    torn: Arc<AtomicBool>,
    queue: SyncSender<Message>,
}

impl Write for QueueWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.torn.swap(false, Ordering::Relaxed) {
            self.line.clear();
        }
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.line);
        if let Err(mpsc::SendError(Message::Line(line))) = self.queue.send(Message::Line(line)) {
            // The writer has finished (the relay is stopping): the line is written here.
            let mut stdout = io::stdout().lock();
            stdout.write_all(&line)?;
            stdout.flush()?;
        }
        Ok(())
    }
}

/// A JSON drain whose lines go through the queue; serialized and queued under one lock, so
/// lines keep the order in which they were logged.
pub struct QueuedJson {
    json: Mutex<Json<QueueWriter>>,
    torn: Arc<AtomicBool>,
}

impl Drain for QueuedJson {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), Never> {
        let json = self.json.lock().unwrap_or_else(PoisonError::into_inner);
        if json.log(record, values).is_err() {
            // A record that cannot be serialized (or stdout that cannot be written) is not
            // worth a panic; what it left unfinished is not written.
            self.torn.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Stops the writer when dropped, after it wrote every line queued.
pub struct WriterGuard {
    queue: SyncSender<Message>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        let _ = self.queue.send(Message::Finish);
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// A drain made by `json` (which must flush after each line) over the queue, and its writer.
pub fn queued_stdout(
    json: impl FnOnce(QueueWriter) -> Json<QueueWriter>,
) -> (QueuedJson, WriterGuard) {
    let (queue, lines) = mpsc::sync_channel(QUEUE_LINES);
    let torn = Arc::new(AtomicBool::new(false));
    let writer = QueueWriter {
        line: Vec::with_capacity(1024),
        torn: Arc::clone(&torn),
        queue: queue.clone(),
    };
    // Without a thread (none can be started) every line is written where it is logged.
    let writer_thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(&lines, &mut io::stdout()))
        .ok();
    let drain = QueuedJson {
        json: Mutex::new(json(writer)),
        torn,
    };
    let guard = WriterGuard {
        queue,
        writer: writer_thread,
    };
    (drain, guard)
}

/// Writes the queued lines, all that wait at once, until told to finish (and what was queued
/// before that is written).
fn write_lines(lines: &Receiver<Message>, out: &mut impl Write) {
    let mut batch = Vec::new();
    let mut finishing = false;
    loop {
        let first = if finishing {
            lines.try_recv().ok()
        } else {
            lines.recv().ok()
        };
        let Some(first) = first else {
            return;
        };
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => batch.extend_from_slice(&line),
                Message::Finish => finishing = true,
            }
            if batch.len() < WRITE_BYTES {
                next = lines.try_recv().ok();
            }
        }
        // A log line that cannot be written has nowhere else to go.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        batch.shrink_to(WRITE_BYTES);
    }
}

#[cfg(test)]
#[path = "log_writer_tests.rs"]
mod tests;
