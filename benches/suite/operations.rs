//! Relay against PostgreSQL itself: every operation at 1, 5, 20 and 100 requests in flight through
//! the relay (its own process, driven over protocol v1) and directly (five connections), side by
//! side in one run, with the relay's CPU per operation and its peak memory under load.

use crate::controlplane::{LoadClient, LoadRun};
use crate::direct::DirectPool;
use crate::process::{start_relay, usage, RelayProcess};
use crate::relaybench::{self, Dataset};
use crate::report::{mib, Section};
use crate::workloads::{self, Workload, ALL};
use std::time::Duration;

/// Requests in flight for each measured run.
const IN_FLIGHT: [usize; 4] = [1, 5, 20, 100];

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

fn start_under_test(dataset: &Dataset) -> Result<RelayUnderTest, String> {
    let client = LoadClient::start()?;
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let spool = dir.path().join("spool.jsonl");
    let config = workloads::relay_config(client.port, dataset, &spool.display().to_string());
    let process = start_relay(&config, dir.path())?;
    client.wait_for_relay(Duration::from_secs(10))?;
    Ok(RelayUnderTest {
        client,
        process,
        _dir: dir,
    })
}

/// Throughput and latency of one measured run.
struct Stats {
    ops_per_second: f64,
    p50: Duration,
    p99: Duration,
    operations: usize,
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

/// One row of the comparison table.
struct Compared {
    workload: Workload,
    in_flight: usize,
    relay: Stats,
    direct: Stats,
    relay_cpu_seconds: f64,
}

impl Compared {
    fn ratio(&self) -> f64 {
        self.relay.ops_per_second / self.direct.ops_per_second.max(1e-9)
    }
}

fn measure(
    relay: &RelayUnderTest,
    direct: &DirectPool,
    scale: &Scale,
    workload: Workload,
    in_flight: usize,
) -> Result<Compared, String> {
    let pid = relay.process.running.0.id();
    let mut rng = fastrand::Rng::with_seed(in_flight as u64);
    let customers = scale.customers as i64;
    let make =
        Box::new(move |id: &str| workload.request(id, workload.first_id(&mut rng, customers)));
    let before = usage(pid)?;
    let relay_run = relay
        .client
        .run(make, workload.check(), in_flight, scale.run)?;
    let relay_cpu_seconds = usage(pid)?.cpu_seconds - before.cpu_seconds;
    let relay_stats = stats(relay_run, "relay", workload)?;
    let direct_stats = stats(
        direct.run(workload, in_flight, scale.run),
        "direct",
        workload,
    )?;
    eprintln!(
        "  {:<36} {in_flight:>3} in flight: relay {:>8.0}/s, direct {:>8.0}/s",
        workload.label(),
        relay_stats.ops_per_second,
        direct_stats.ops_per_second
    );
    Ok(Compared {
        workload,
        in_flight,
        relay: relay_stats,
        direct: direct_stats,
        relay_cpu_seconds,
    })
}

/// Builds (or reuses) the dataset, starts the relay, and measures every operation both ways.
pub fn run(scale: &Scale) -> Result<Vec<Section>, String> {
    let dataset = relaybench::ensure(scale.database, scale.customers, scale.orders)?;
    let relay = start_under_test(&dataset)?;
    let direct = DirectPool::connect(&dataset.reader_settings(), scale.customers)?;
    let mut compared = Vec::new();
    for workload in selected_workloads()? {
        // Warm both sides up: connections opened, statements planned, caches filled.
        let warmup = Scale {
            run: scale.warmup,
            ..*scale
        };
        measure(&relay, &direct, &warmup, workload, 5)?;
        for in_flight in IN_FLIGHT {
            compared.push(measure(&relay, &direct, scale, workload, in_flight)?);
        }
    }
    let after = usage(relay.process.running.0.id())?;
    Ok(vec![
        comparison_table(&dataset, scale, &compared),
        load_table(after, &compared),
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

fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

fn comparison_table(dataset: &Dataset, scale: &Scale, compared: &[Compared]) -> Section {
    let mut section = Section::new(
        format!(
            "Relay vs PostgreSQL direct ({} customers, {} orders; direct: 5 connections)",
            dataset.customers, dataset.orders
        ),
        &[
            "Operation",
            "In flight",
            "Relay ops/s",
            "Relay p50 / p99 ms",
            "Direct ops/s",
            "Direct p50 / p99 ms",
            "Relay ÷ direct",
            "Target",
            "Relay CPU s / 1000 ops",
        ],
    );
    for row in compared {
        let target = if row.in_flight == 20 {
            let met = if row.ratio() >= row.workload.target() {
                "met"
            } else {
                "NOT met"
            };
            format!(">= {:.1}x: {met}", row.workload.target())
        } else {
            String::new()
        };
        section.row([
            row.workload.label().to_owned(),
            row.in_flight.to_string(),
            format!("{:.0}", row.relay.ops_per_second),
            format!("{} / {}", millis(row.relay.p50), millis(row.relay.p99)),
            format!("{:.0}", row.direct.ops_per_second),
            format!("{} / {}", millis(row.direct.p50), millis(row.direct.p99)),
            format!("{:.2}x", row.ratio()),
            target,
            format!(
                "{:.3}",
                row.relay_cpu_seconds / row.relay.operations.max(1) as f64 * 1000.0
            ),
        ]);
    }
    section.note(format!(
        "Each cell is a {} s closed-loop run: the load client keeps N requests in flight over the \
         relay's WebSocket (protocol v1, audit records acknowledged), the direct client runs N \
         threads sharing 5 connections with each statement prepared once per connection. Both \
         read as the read-only role `{}`; the relay masks with the seed's patterns and every \
         built-in. Ratios compare operations per second measured one right after the other.",
        scale.run.as_secs_f64(),
        relaybench::READER
    ));
    section
}

fn load_table(after: crate::process::Usage, compared: &[Compared]) -> Section {
    let operations: usize = compared.iter().map(|c| c.relay.operations).sum();
    let cpu: f64 = compared.iter().map(|c| c.relay_cpu_seconds).sum();
    let mut section = Section::new("Relay under load", &["Measure", "Relay", "Target"]);
    section.row([
        "Peak RSS (VmHWM), all runs incl. 100 in flight with 1000-row results".into(),
        mib(after.peak_kib),
        "<= 64 MiB".into(),
    ]);
    section.row([
        "RSS after the load".into(),
        mib(after.rss_kib),
        String::new(),
    ]);
    section.row([
        "CPU per 1000 operations, all runs".into(),
        format!(
            "{:.3} s ({operations} operations)",
            cpu / operations.max(1) as f64 * 1000.0
        ),
        String::new(),
    ]);
    section
}
