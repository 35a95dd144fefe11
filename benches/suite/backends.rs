//! CPU time of the PostgreSQL backends serving one client: their pids from `pg_stat_activity` by
//! `application_name`, their utime+stime from `/proc/<pid>/stat`, sampled before and after a run.
//!
//! A pool may replace a connection during a run, so a sample is a set of backends, each known by
//! its pid and start time (a pid may be reused), and two samples are compared backend by backend:
//! - present in both: the CPU it used between the samples;
//! - present only after: a backend that started during the run; all its CPU since it started
//!   (connection start-up included) was spent for the run;
//! - present only before: a backend that exited during the run; its CPU after the first sample is
//!   lost (the kernel adds it to the postmaster's children's time, mixed with every other
//!   backend of the server), so it counts as zero and the run's figure is a lower bound. A backend
//!   that started and exited within one run is not seen at all. How many appeared and vanished is
//!   reported beside the figure.

use crate::relaybench::{connect_admin, describe};
use postgres::Client;
use std::collections::HashMap;

/// Linux reports CPU and start times in clock ticks of 1/100 s.
const TICKS_PER_SECOND: f64 = 100.0;

/// A `/proc` process whose start differs from the backend's `backend_start` by more than this is
/// another process: the server runs on another machine, or the pid was reused.
const START_TOLERANCE_SECONDS: f64 = 2.0;

/// Reads the backends of the local server through an administrative connection (whose own
/// backend has another `application_name`, so it is never counted).
pub struct BackendMonitor {
    admin: Client,
    /// When the machine booted, Unix seconds (`btime` of `/proc/stat`): `/proc` start times count
    /// from it.
    boot_time: f64,
}

/// A backend process: its pid and its start time in ticks after boot.
type Identity = (u32, u64);

/// The backends of one `application_name` at one moment, and their CPU ticks so far.
#[derive(Debug, Default)]
pub struct Sample {
    ticks: HashMap<Identity, u64>,
    /// Backends listed by the server whose process could not be read here.
    unreadable: usize,
}

/// The CPU the backends of one client used between two samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct BackendCpu {
    /// None when no backend could be read from `/proc` (a server on another machine).
    pub seconds: Option<f64>,
    /// Backends that started between the samples.
    pub appeared: usize,
    /// Backends that exited between the samples.
    pub vanished: usize,
}

impl BackendMonitor {
    pub fn connect(database: &str) -> Result<BackendMonitor, String> {
        let stat =
            std::fs::read_to_string("/proc/stat").map_err(|err| format!("/proc/stat: {err}"))?;
        let boot_time = stat
            .lines()
            .find_map(|line| line.strip_prefix("btime "))
            .and_then(|value| value.trim().parse::<f64>().ok())
            .ok_or("no btime in /proc/stat")?;
        Ok(BackendMonitor {
            admin: connect_admin(database)?,
            boot_time,
        })
    }

    /// The backends whose `application_name` is `name`, now.
    pub fn sample(&mut self, name: &str) -> Result<Sample, String> {
        let rows = self
            .admin
            .query(
                "SELECT pid, extract(epoch FROM backend_start)::float8 FROM pg_stat_activity \
                 WHERE application_name = $1",
                &[&name],
            )
            .map_err(|err| format!("pg_stat_activity: {}", describe(&err)))?;
        let mut sample = Sample::default();
        for row in rows {
            let (pid, started): (i32, f64) = (row.get(0), row.get(1));
            match read_process(pid as u32) {
                Some(process) if self.same_start(process.start_ticks, started) => {
                    sample
                        .ticks
                        .insert((pid as u32, process.start_ticks), process.cpu_ticks);
                }
                _ => sample.unreadable += 1,
            }
        }
        Ok(sample)
    }

    fn same_start(&self, start_ticks: u64, backend_start: f64) -> bool {
        let started = self.boot_time + start_ticks as f64 / TICKS_PER_SECOND;
        (started - backend_start).abs() <= START_TOLERANCE_SECONDS
    }
}

/// What the backends of `before` and `after` used between the two samples (see the module's
/// comment for backends that appear or vanish).
pub fn between(before: &Sample, after: &Sample) -> BackendCpu {
    let mut ticks = 0;
    let mut appeared = 0;
    for (identity, now) in &after.ticks {
        match before.ticks.get(identity) {
            Some(then) => ticks += now.saturating_sub(*then),
            None => {
                appeared += 1;
                ticks += now;
            }
        }
    }
    let vanished = before
        .ticks
        .keys()
        .filter(|identity| !after.ticks.contains_key(identity))
        .count();
    let nothing_readable = after.ticks.is_empty() && after.unreadable > 0;
    BackendCpu {
        seconds: (!nothing_readable).then_some(ticks as f64 / TICKS_PER_SECOND),
        appeared,
        vanished,
    }
}

impl BackendCpu {
    /// Nothing measured yet: the start of a sum.
    pub fn none_yet() -> BackendCpu {
        BackendCpu {
            seconds: Some(0.0),
            ..BackendCpu::default()
        }
    }

    /// The sum of two runs' figures (unknown if either is).
    pub fn plus(self, other: BackendCpu) -> BackendCpu {
        BackendCpu {
            seconds: self.seconds.zip(other.seconds).map(|(a, b)| a + b),
            appeared: self.appeared + other.appeared,
            vanished: self.vanished + other.vanished,
        }
    }
}

struct Process {
    cpu_ticks: u64,
    start_ticks: u64,
}

/// utime+stime and start time of `pid`, if it runs here.
fn read_process(pid: u32) -> Option<Process> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at the closing parenthesis:
    // index 0 is field 3 (state), so utime (14), stime (15) and starttime (22) are 11, 12 and 19.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |index: usize| fields.get(index)?.parse::<u64>().ok();
    Some(Process {
        cpu_ticks: field(11)? + field(12)?,
        start_ticks: field(19)?,
    })
}
