//! The audit trail's files: the optional `audit.file` and the spool. Opening them (again, after a
//! failure), writing lines to each, and saying why they cannot take records. `check_paths` makes
//! the same checks for `relay check`, with the same words, without keeping anything open.

use super::spool::{Limits, OpenError, Pending, Refused, Spool, SpoolError};
use crate::local_state::{self, FileLock, StatePath};
use relay_config::Audit;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// Room an operation record may need beyond its statement (ids, counts, chain fields).
const RECORD_OVERHEAD: u64 = 16 << 10;

/// Why a sink cannot take records, worded as the relay logs it. Kept as the reason the sinks are
/// broken while it is also returned, hence the shared (cloneable) sources.
#[derive(Debug, Clone, Error)]
pub enum SinkError {
    #[error("cannot open audit file {}: {source}", path.display())]
    OpenFile {
        path: PathBuf,
        source: Arc<io::Error>,
    },
    #[error("cannot open audit spool {}: {source}", path.display())]
    OpenSpool {
        path: PathBuf,
        source: Arc<OpenError>,
    },
    #[error("cannot write the audit file: {0}")]
    WriteFile(#[source] Arc<io::Error>),
    #[error("cannot sync the audit file: {0}")]
    SyncFile(#[source] Arc<io::Error>),
    #[error("cannot write the audit spool: {0}")]
    WriteSpool(#[source] Arc<io::Error>),
    /// The file system of the sink (`audit spool` or `audit file`) has no room for a record.
    #[error("cannot write the {sink}: no space left on its file system ({free} bytes free)")]
    NoSpace { sink: &'static str, free: u64 },
}

/// The sinks of one auditor.
pub struct Sinks {
    file_path: Option<PathBuf>,
    spool_path: Option<StatePath>,
    limits: Limits,
    tenant_id: String,
    /// Bytes one more operation record may need.
    reserve: u64,
    file: Option<File>,
    spool: Option<Spool>,
    /// Why a sink is missing or its last write failed; cleared by [`Sinks::retry`].
    broken: Option<SinkError>,
}

/// Something worth a log line that happened while opening.
pub enum Opened {
    /// The spool held records of another tenant; they are not sent.
    ForeignRecords { path: String, records: u64 },
}

impl Sinks {
    pub fn new(settings: &Audit, tenant_id: &str) -> Self {
        Sinks {
            file_path: settings.file.as_ref().map(PathBuf::from),
            spool_path: settings
                .control_plane
                .then(|| local_state::spool_path(settings.spool_path.as_deref(), tenant_id)),
            limits: Limits {
                max_records: settings.spool_max_records as usize,
                max_bytes: settings.max_spool_bytes,
            },
            tenant_id: tenant_id.to_owned(),
            reserve: u64::from(settings.max_statement_bytes) + RECORD_OVERHEAD,
            file: None,
            spool: None,
            broken: None,
        }
    }

    /// Opens what is not open yet; a sink that cannot be opened is the reason returned by
    /// [`Sinks::problem`] until a later call succeeds.
    pub fn open_missing(&mut self) -> Vec<Opened> {
        let mut notes = Vec::new();
        self.broken = None;
        if let (None, Some(path)) = (&self.file, &self.file_path) {
            match local_state::open_append(path) {
                Ok(file) => self.file = Some(file),
                Err(err) => self.broken = Some(file_open_error(path, err)),
            }
        }
        if let (None, Some(path)) = (&self.spool, &self.spool_path) {
            match open_spool(path, self.limits, &self.tenant_id) {
                Ok(spool) => {
                    if spool.foreign() > 0 {
                        notes.push(Opened::ForeignRecords {
                            path: path.path.display().to_string(),
                            records: spool.foreign(),
                        });
                    }
                    self.spool = Some(spool);
                }
                Err(reason) => {
                    self.broken.get_or_insert(reason);
                }
            }
        }
        if self.broken.is_none() {
            self.broken = self.short_of_space();
        }
        notes
    }

    /// After a failure: reopens what is missing, or checks there is space again.
    pub fn retry(&mut self) -> Vec<Opened> {
        if self.broken.is_none() {
            return Vec::new();
        }
        self.open_missing()
    }

    /// Why an operation cannot be recorded now, if it cannot.
    pub fn problem(&self) -> Option<String> {
        if let Some(reason) = &self.broken {
            return Some(reason.to_string());
        }
        let spool = self.spool.as_ref()?;
        spool
            .check_room(self.reserve)
            .err()
            .map(|full| full.to_string())
    }

    /// A file system without room for one more record, on either sink.
    fn short_of_space(&self) -> Option<SinkError> {
        let spool_free = self.spool.as_ref().map(Spool::free_space);
        let file_free = self.file.as_ref().map(free_space);
        for (sink, free) in [("audit spool", spool_free), ("audit file", file_free)] {
            if let Some(Ok(free)) = free {
                if free < self.reserve {
                    return Some(SinkError::NoSpace { sink, free });
                }
            }
        }
        None
    }

    /// Appends records' lines (each ending in a newline) to the audit file with one write, if
    /// there is one.
    pub fn write_file(&mut self, lines: &str) -> Result<(), SinkError> {
        let Some(file) = self.file.as_mut() else {
            return match (&self.file_path, &self.broken) {
                (Some(_), Some(reason)) => Err(reason.clone()),
                _ => Ok(()),
            };
        };
        let written = file.write_all(lines.as_bytes()).and_then(|()| file.flush());
        if let Err(err) = written {
            // Reopened by the next retry; a torn line is skipped by every reader.
            self.file = None;
            let reason = SinkError::WriteFile(Arc::new(err));
            self.broken = Some(reason.clone());
            return Err(reason);
        }
        Ok(())
    }

    /// Makes what the audit file holds durable (at shutdown, after the last record).
    pub fn sync_file(&self) -> Result<(), SinkError> {
        match &self.file {
            Some(file) => file
                .sync_data()
                .map_err(|err| SinkError::SyncFile(Arc::new(err))),
            None => Ok(()),
        }
    }

    /// Spools records in order with one write; `Ok(None)` when there is no spool. Refused: how
    /// many of the first records were spooled all the same, and why the others were not.
    pub fn push_spool(&mut self, records: Vec<Pending>) -> Result<Option<u64>, (usize, String)> {
        let Some(spool) = self.spool.as_mut() else {
            return match (&self.spool_path, &self.broken) {
                (Some(_), Some(reason)) => Err((0, reason.to_string())),
                _ => Ok(None),
            };
        };
        match spool.push_all(records) {
            Ok(dropped) => Ok(Some(dropped)),
            Err(Refused {
                taken,
                error: full @ SpoolError::Full { .. },
            }) => Err((taken, full.to_string())),
            Err(Refused {
                taken,
                error: SpoolError::Io(err),
            }) => {
                let reason = SinkError::WriteSpool(Arc::new(err));
                let text = reason.to_string();
                self.broken = Some(reason);
                Err((taken, text))
            }
        }
    }

    pub fn spool(&self) -> Option<&Spool> {
        self.spool.as_ref()
    }

    pub fn spool_mut(&mut self) -> Option<&mut Spool> {
        self.spool.as_mut()
    }
}

fn free_space(file: &File) -> io::Result<u64> {
    let stats = rustix::fs::fstatvfs(file)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

fn file_open_error(path: &Path, err: io::Error) -> SinkError {
    SinkError::OpenFile {
        path: path.to_owned(),
        source: Arc::new(err),
    }
}

fn spool_open_error(path: &Path, err: impl Into<OpenError>) -> SinkError {
    SinkError::OpenSpool {
        path: path.to_owned(),
        source: Arc::new(err.into()),
    }
}

fn open_spool(path: &StatePath, limits: Limits, tenant_id: &str) -> Result<Spool, SinkError> {
    path.prepare()
        .map_err(|err| spool_open_error(&path.path, err))?;
    Spool::open(&path.path, limits, tenant_id).map_err(|err| spool_open_error(&path.path, err))
}

/// What `relay check` found about the audit trail's files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PathReport {
    /// Conditions under which `relay run` refuses operations, worded as it logs them.
    pub problems: Vec<String>,
    /// Worth knowing, but `relay run` would not refuse anything for it here.
    pub notes: Vec<String>,
}

/// Checks that the audit file and the spool can be opened (creating the private directory when
/// the spool is in it) and that no running relay holds the spool; files that did not exist are
/// removed again.
pub fn check_paths(settings: &Audit, tenant_id: &str) -> PathReport {
    let mut report = PathReport::default();
    if !settings.enabled {
        return report;
    }
    if let Some(file) = &settings.file {
        let path = Path::new(file);
        if let Err(err) = try_open(path) {
            report.problems.push(file_open_error(path, err).to_string());
        }
    }
    if settings.control_plane {
        let spool = local_state::spool_path(settings.spool_path.as_deref(), tenant_id);
        if let Err(err) = spool.prepare() {
            report
                .problems
                .push(spool_open_error(&spool.path, err).to_string());
        } else if let Err(err) = try_open(&spool.path) {
            report
                .problems
                .push(spool_open_error(&spool.path, err).to_string());
        } else if let Some(busy) = FileLock::held_by_other(&spool.path) {
            report.notes.push(format!(
                "audit spool {}: {busy}; a second relay with this configuration would refuse \
                 to start",
                spool.path.display()
            ));
        }
    }
    report
}

/// Opens `path` as the relay would, leaving no new file behind.
fn try_open(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => local_state::open_append(path).map(drop),
        Err(_) => {
            local_state::create_new(path)?;
            std::fs::remove_file(path)
        }
    }
}
