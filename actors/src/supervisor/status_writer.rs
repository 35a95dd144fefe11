//! Writes the liveness status file on a blocking thread: the supervisor hands over each new
//! status and goes on; statuses that arrive while a write runs are followed by the newest alone.
//! A failed write is logged once per run of failures.

use crate::local_state::StatePath;
use crate::log_event::LogEvent;
use crate::status_file::{self, Status, StatusFileError};
use slog::{warn, Logger};
use tokio::sync::mpsc;

/// Runs once the status it came with (or a newer one) has been written, or failed to be.
pub(super) type AfterWrite = Box<dyn FnOnce() + Send>;

/// The handle the supervisor writes through; the writer stops when it is dropped.
pub(super) struct StatusWriter {
    statuses: mpsc::UnboundedSender<(Status, Option<AfterWrite>)>,
}

impl StatusWriter {
    /// Starts the writer for `path` on the current actor system.
    pub fn start(path: StatePath, log: Logger) -> Self {
        let (statuses, received) = mpsc::unbounded_channel();
        actix_rt::spawn(write_each(path, received, log));
        StatusWriter { statuses }
    }

    /// Asks for `status` to be written, then for `after` to run.
    pub fn write(&self, status: Status, after: Option<AfterWrite>) {
        if let Err(mpsc::error::SendError((_, Some(after)))) = self.statuses.send((status, after)) {
            after();
        }
    }
}

async fn write_each(
    path: StatePath,
    mut received: mpsc::UnboundedReceiver<(Status, Option<AfterWrite>)>,
    log: Logger,
) {
    let mut failing = false;
    while let Some(first) = received.recv().await {
        let (mut status, mut after) = (first.0, Vec::from_iter(first.1));
        while let Ok((newer, then)) = received.try_recv() {
            status = newer;
            after.extend(then);
        }
        let target = path.clone();
        let written = actix_rt::task::spawn_blocking(move || write_status_file(&target, &status))
            .await
            .unwrap_or_else(|err| Err(StatusFileError::Unwritable(std::io::Error::other(err))));
        match written {
            Ok(()) => failing = false,
            Err(err) if !failing => {
                failing = true;
                warn!(log, "{}", LogEvent::CannotWriteTheStatusFile;
                    "path" => path.path.display().to_string(), "error" => err.to_string());
            }
            Err(_) => {}
        }
        after.into_iter().for_each(|then| then());
    }
}

/// Writes the file, (re)creating the private directory when it is missing, as the spool's is.
fn write_status_file(path: &StatePath, status: &Status) -> Result<(), StatusFileError> {
    path.prepare()?;
    status_file::write(&path.path, status).map_err(StatusFileError::Unwritable)
}
