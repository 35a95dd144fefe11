//! Relay against PostgreSQL itself: every operation at 1, 5, 20 and 100 requests in flight through
//! the relay (its own process, driven over protocol v1) and directly (five connections), side by
//! side in one run, with the CPU per operation of the relay, of the direct client and of the
//! PostgreSQL backends serving each, and the relay's memory before and under load.

use crate::backends::{between, BackendCpu, BackendMonitor};
use crate::controlplane::{LoadClient, LoadRun};
use crate::direct::DirectPool;
use crate::operations_report::{comparison_table, cost_table, load_table, Compared, Stats};
use crate::process::{reset_peak, start_relay, usage, RelayProcess, Usage};
use crate::relaybench::{self, Dataset};
use crate::report::Section;
use crate::workloads::{self, Workload, ALL};
use std::time::Duration;

/// Requests in flight for each measured run.
pub const IN_FLIGHT: [usize; 4] = [1, 5, 20, 100];

/// How big and how long: the real run, or a smoke run that only checks the suite still works.
#[derive(Clone, Copy)]
pub struct Scale {
    pub database: &'static str,
    pub customers: usize,
    pub orders: usize,
    pub run: Duration,
    pub warmup: Duration,
}

pub const FULL: Scale = Scale {
    database: "relaybench",
    customers: 100_000,
    orders: 1_000_000,
    run: Duration::from_secs(5),
    warmup: Duration::from_secs(1),
};

pub const SMOKE: Scale = Scale {
    database: "relaybench_smoke",
    customers: 2_000,
    orders: 20_000,
    run: Duration::from_millis(300),
    warmup: Duration::from_millis(100),
};

/// The relay under test and the control plane driving it.
struct RelayUnderTest {
    client: LoadClient,
    process: RelayProcess,
    _dir: tempfile::TempDir,
}

fn start_under_test(dataset: &Dataset, names: &Names) -> Result<RelayUnderTest, String> {
    let client = LoadClient::start()?;
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let spool = dir.path().join("spool.jsonl");
    let spool = spool.display().to_string();
    let config = workloads::relay_config(client.port, dataset, &spool, &names.relay);
    let process = start_relay(&config, dir.path())?;
    client.wait_for_relay(Duration::from_secs(10))?;
    Ok(RelayUnderTest {
        client,
        process,
        _dir: dir,
    })
}

fn stats(mut run: LoadRun, who: &str, workload: Workload) -> Result<Stats, String> {
    if run.failed > 0 {
        return Err(format!(
            "{who} {}: {} of {} operations failed, e.g. {:?}",
            workload.label(),
            run.failed,
            run.latencies.len(),
            run.failures
        ));
    }
    run.latencies.sort_unstable();
    let at = |share: f64| {
        let index = ((run.latencies.len() as f64 * share).ceil() as usize).saturating_sub(1);
        run.latencies.get(index).copied().unwrap_or_default()
    };
    Ok(Stats {
        ops_per_second: run.latencies.len() as f64 / run.elapsed.as_secs_f64().max(1e-9),
        p50: at(0.50),
        p99: at(0.99),
        operations: run.latencies.len(),
    })
}

/// The `application_name` of the relay's sessions and of the direct client's, unique to this
/// run of the suite so that no other client of the server (a test suite using the relay's default
/// name, another run of the suite) is counted as theirs.
struct Names {
    relay: String,
    direct: String,
}

impl Names {
    fn new() -> Names {
        let run = std::process::id();
        Names {
            relay: format!("relaybench-relay-{run}"),
            direct: format!("relaybench-direct-{run}"),
        }
    }
}

/// Everything one row measures, and the means to measure it.
struct Bench<'a> {
    relay: &'a RelayUnderTest,
    direct: &'a DirectPool,
    monitor: &'a mut BackendMonitor,
    names: &'a Names,
}

impl Bench<'_> {
    /// One closed-loop run through the relay: its answers, the relay's CPU and peak memory, and the
    /// CPU of its backends.
    fn through_relay(
        &mut self,
        scale: &Scale,
        workload: Workload,
        in_flight: usize,
    ) -> Result<(Stats, f64, Option<u64>, BackendCpu), String> {
        let pid = self.relay.process.running.0.id();
        let mut rng = fastrand::Rng::with_seed(in_flight as u64);
        let customers = scale.customers as i64;
        let make =
            Box::new(move |id: &str| workload.request(id, workload.first_id(&mut rng, customers)));
        let peak_reset = reset_peak(pid);
        let backends_before = self.monitor.sample(&self.names.relay)?;
        let before = usage(pid)?;
        let run = self
            .relay
            .client
            .run(make, workload.check(), in_flight, scale.run)?;
        let after = usage(pid)?;
        let backends = between(&backends_before, &self.monitor.sample(&self.names.relay)?);
        let peak = peak_reset.then_some(after.peak_kib);
        let stats = stats(run, "relay", workload)?;
        Ok((
            stats,
            after.cpu_seconds - before.cpu_seconds,
            peak,
            backends,
        ))
    }

    /// The same run against PostgreSQL directly: the direct client's CPU (this process's, which
    /// does nothing else meanwhile) and its backends' CPU.
    fn direct(
        &mut self,
        scale: &Scale,
        workload: Workload,
        in_flight: usize,
    ) -> Result<(Stats, f64, BackendCpu), String> {
        let own = std::process::id();
        let backends_before = self.monitor.sample(&self.names.direct)?;
        let before = usage(own)?;
        let run = self.direct.run(workload, in_flight, scale.run);
        let after = usage(own)?;
        let backends = between(&backends_before, &self.monitor.sample(&self.names.direct)?);
        let stats = stats(run, "direct", workload)?;
        Ok((stats, after.cpu_seconds - before.cpu_seconds, backends))
    }

    fn measure(
        &mut self,
        scale: &Scale,
        workload: Workload,
        in_flight: usize,
    ) -> Result<Compared, String> {
        let (relay, relay_cpu_seconds, relay_peak_kib, relay_backends) =
            self.through_relay(scale, workload, in_flight)?;
        let (direct, direct_cpu_seconds, direct_backends) =
            self.direct(scale, workload, in_flight)?;
        eprintln!(
            "  {:<36} {in_flight:>3} in flight: relay {:>8.0}/s, direct {:>8.0}/s",
            workload.label(),
            relay.ops_per_second,
            direct.ops_per_second
        );
        Ok(Compared {
            workload,
            in_flight,
            relay,
            direct,
            relay_cpu_seconds,
            relay_peak_kib,
            relay_backends,
            direct_cpu_seconds,
            direct_backends,
        })
    }
}

/// Builds (or reuses) the dataset, starts the relay, and measures every operation both ways.
pub fn run(scale: &Scale) -> Result<Vec<Section>, String> {
    let dataset = relaybench::ensure(scale.database, scale.customers, scale.orders)?;
    let names = Names::new();
    let relay = start_under_test(&dataset, &names)?;
    let idle: Usage = usage(relay.process.running.0.id())?;
    let direct_settings = format!(
        "{} application_name={}",
        dataset.reader_settings(),
        names.direct
    );
    let direct = DirectPool::connect(&direct_settings, scale.customers)?;
    let mut monitor = BackendMonitor::connect(&dataset.database)?;
    let mut bench = Bench {
        relay: &relay,
        direct: &direct,
        monitor: &mut monitor,
        names: &names,
    };
    let mut compared = Vec::new();
    for workload in selected_workloads()? {
        // Warm both sides up: connections opened, statements planned, caches filled.
        let warmup = Scale {
            run: scale.warmup,
            ..*scale
        };
        bench.measure(&warmup, workload, 5)?;
        for in_flight in IN_FLIGHT {
            compared.push(bench.measure(scale, workload, in_flight)?);
        }
    }
    let after = usage(relay.process.running.0.id())?;
    Ok(vec![
        comparison_table(&dataset, scale, &compared),
        cost_table(&compared),
        load_table(idle, after, &compared),
    ])
}

/// The workloads to measure: all, or those whose label contains `RELAY_BENCH_ONLY` (for profiling
/// one operation at a time).
fn selected_workloads() -> Result<Vec<Workload>, String> {
    let Ok(only) = std::env::var("RELAY_BENCH_ONLY") else {
        return Ok(ALL.to_vec());
    };
    let chosen: Vec<Workload> = ALL
        .into_iter()
        .filter(|w| w.label().contains(only.as_str()))
        .collect();
    if chosen.is_empty() {
        let labels: Vec<&str> = ALL.iter().map(|w| w.label()).collect();
        return Err(format!(
            "RELAY_BENCH_ONLY={only:?} matches no operation; labels: {labels:?}"
        ));
    }
    Ok(chosen)
}
