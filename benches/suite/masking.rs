//! Masking throughput: the JSON of realistic customer rows masked by the relay's engine (one core,
//! then the masking actor's worker pool), beside the same job done by two `Regex::replace_all`
//! passes per value, measured in the same run; and a query's rows masked as values and serialized
//! against masked as they are written into the answer's text.

use crate::dataset::{customers, Customer};
use crate::report::{ratio, Section};
use regex::Regex;
use relay_actors::domain::{Cell, RowMasking};
use relay_actors::masking::{Masker, MaskingEngine};
use relay_actors::messages::{Mask, MaskPayload, OperationOutput};
use relay_actors::protocol::{Column, MaskedCounts};
use relay_config::{Builtins, MaskPattern, Masking};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEED_CPF: &str = r"\d{3}\.\d{3}\.\d{3}-\d{2}";
const SEED_EMAIL: &str = r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}";

/// Runs the masking benchmark on `rows` customers, `rounds` times each (the median counts).
pub fn run(rows: usize, rounds: usize) -> Result<Section, String> {
    let output = customer_output(&customers(rows));
    let megabytes = serde_json::to_vec(&output.rows)
        .map_err(|e| e.to_string())?
        .len() as f64
        / 1e6;
    let seed = engine(seed_masking())?;
    let builtins = engine(Masking::default())?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());

    let baseline = median(rounds, || time_baseline(&output));
    let seed_one = median(rounds, || time_engine(&seed, &output));
    let builtins_one = median(rounds, || time_engine(&builtins, &output));
    let system = actix_rt::System::new();
    let seed_pool = median(rounds, || time_pool(&system, &seed, workers, &output));
    let builtins_pool = median(rounds, || time_pool(&system, &builtins, workers, &output));
    let as_values = median(rounds, || time_as_values(&builtins, &output));
    let as_written = median(rounds, || time_as_written(&builtins, &output));

    let throughput = |elapsed: Duration| megabytes / elapsed.as_secs_f64();
    let mut section = Section::new(
        format!("Masking throughput ({rows} customer rows, {megabytes:.1} MB of JSON)"),
        &["Job", "MB/s", "vs baseline", "Target"],
    );
    section.row([
        "baseline: two `Regex::replace_all` passes per value, 1 core".into(),
        format!("{:.1}", throughput(baseline)),
        "1.00x".into(),
        String::new(),
    ]);
    let mut add = |job: String, elapsed: Duration, target: &str| {
        let speed = format!("{:.2}x", baseline.as_secs_f64() / elapsed.as_secs_f64());
        section.row([
            job,
            format!("{:.1}", throughput(elapsed)),
            speed,
            target.into(),
        ]);
    };
    add(
        "(a) seed's two patterns, engine, 1 core".into(),
        seed_one,
        ">= 1.0x",
    );
    add(
        format!("(a) seed's two patterns, worker pool, {workers} workers"),
        seed_pool,
        "",
    );
    add(
        "(b) all default built-ins, engine, 1 core".into(),
        builtins_one,
        ">= 0.5x",
    );
    add(
        format!("(b) all default built-ins, worker pool, {workers} workers"),
        builtins_pool,
        "",
    );
    add(
        "(b) rows made values, masked, serialized and freed, 1 core".into(),
        as_values,
        "",
    );
    add(
        "(b) rows masked as written into the answer's text, 1 core".into(),
        as_written,
        "",
    );
    section.note(format!(
        "A query's rows masked as written, over made into values first: {} as fast.",
        ratio(as_values, as_written)
    ));
    section.note(format!(
        "Worker-pool scaling over one core: (a) {}, (b) {} with {workers} workers (target: near-linear).",
        ratio(seed_one, seed_pool),
        ratio(builtins_one, builtins_pool)
    ));
    section.note(check_coverage(&seed, &builtins, &output)?);
    Ok(section)
}

/// The customers as a relay result: one column per field, every cell a JSON value.
fn customer_output(customers: &[Customer]) -> OperationOutput {
    let names = [
        "id",
        "name",
        "email",
        "cpf",
        "phone",
        "address",
        "created_at",
        "notes",
    ];
    let columns = names
        .iter()
        .map(|name| Column {
            name: (*name).into(),
            type_name: if *name == "id" { "int8" } else { "text" }.into(),
        })
        .collect();
    let rows = customers
        .iter()
        .map(|c| {
            vec![
                json!(c.id),
                json!(c.name),
                json!(c.email),
                json!(c.cpf),
                json!(c.phone),
                json!(c.address),
                json!(c.created_at),
                json!(c.notes),
            ]
        })
        .collect();
    OperationOutput {
        columns,
        rows,
        truncated: false,
        details: None,
        lineage: Default::default(),
        written: None,
    }
}

fn seed_masking() -> Masking {
    let pattern = |name: &str, regex: &str, replacement: &str| MaskPattern {
        name: name.into(),
        regex: regex.into(),
        replacement: replacement.into(),
    };
    Masking {
        patterns: vec![
            pattern("cpf", SEED_CPF, "***.***.***-**"),
            pattern("email", SEED_EMAIL, "***@***.***"),
        ],
        builtins: Builtins::none(),
        ..Masking::default()
    }
}

fn engine(masking: Masking) -> Result<Arc<MaskingEngine>, String> {
    MaskingEngine::from_config(&masking)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Runs `measure` `rounds` times and returns the median.
fn median(rounds: usize, mut measure: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..rounds.max(1)).map(|_| measure()).collect();
    times.sort();
    times[times.len() / 2]
}

fn time_baseline(output: &OperationOutput) -> Duration {
    let cpf = Regex::new(SEED_CPF).ok();
    let email = Regex::new(SEED_EMAIL).ok();
    let (Some(cpf), Some(email)) = (cpf, email) else {
        return Duration::MAX;
    };
    let mut rows = output.rows.clone();
    let started = Instant::now();
    for cell in rows.iter_mut().flatten() {
        if let Value::String(text) = cell {
            let first = cpf.replace_all(text, "***.***.***-**");
            let second = email.replace_all(&first, "***@***.***");
            if second != text.as_str() {
                *text = second.into_owned();
            }
        }
    }
    let elapsed = started.elapsed();
    std::hint::black_box(rows);
    elapsed
}

fn time_engine(engine: &MaskingEngine, output: &OperationOutput) -> Duration {
    let mut rows = output.rows.clone();
    let mut counts = MaskedCounts::default();
    let started = Instant::now();
    engine.mask_rows(&output.columns, &mut rows, &mut counts);
    let elapsed = started.elapsed();
    std::hint::black_box(rows);
    elapsed
}

/// What a PostgreSQL query's rows cost masked as values: each text copied into a value (as
/// decoding did), the rows masked, serialized for the answer, and freed.
fn time_as_values(engine: &MaskingEngine, output: &OperationOutput) -> Duration {
    let mut counts = MaskedCounts::default();
    let started = Instant::now();
    let mut rows = output.rows.clone();
    engine.mask_rows(&output.columns, &mut rows, &mut counts);
    let text = serde_json::to_vec(&rows).unwrap_or_default();
    drop(rows);
    let elapsed = started.elapsed();
    std::hint::black_box(text);
    elapsed
}

/// The same rows masked as they are written: text cells borrowed (from the wire row, here from
/// the prepared values), each cell masked and written straight into the answer's text.
fn time_as_written(engine: &MaskingEngine, output: &OperationOutput) -> Duration {
    let started = Instant::now();
    let Some(mut writer) = engine.row_writer(&output.columns, &Default::default()) else {
        return Duration::MAX;
    };
    for row in &output.rows {
        writer.begin_row();
        for value in row {
            match value {
                Value::String(text) => writer.cell(Cell::Text(text)),
                value => writer.cell(Cell::Value(value.clone())),
            }
        }
        writer.end_row();
    }
    let Ok(written) = writer.finish() else {
        return Duration::MAX;
    };
    let elapsed = started.elapsed();
    std::hint::black_box(written);
    elapsed
}

fn time_pool(
    system: &actix_rt::SystemRunner,
    engine: &Arc<MaskingEngine>,
    workers: usize,
    output: &OperationOutput,
) -> Duration {
    let payload = MaskPayload::Output(output.clone());
    system.block_on(async {
        let masker = actix::Actor::start(Masker::with_workers(Arc::clone(engine), workers));
        let started = Instant::now();
        let masked = masker
            .send(Mask {
                payload,
                slot: None,
            })
            .await;
        let elapsed = started.elapsed();
        match masked {
            Ok(Ok(masked)) => {
                std::hint::black_box(masked);
                elapsed
            }
            _ => Duration::MAX,
        }
    })
}

/// Both engines must mask at least what the baseline masks; a benchmark of an engine that
/// masks less would measure the wrong thing.
fn check_coverage(
    seed: &MaskingEngine,
    builtins: &MaskingEngine,
    output: &OperationOutput,
) -> Result<String, String> {
    let mut seed_counts = MaskedCounts::default();
    seed.mask_rows(&output.columns, &mut output.rows.clone(), &mut seed_counts);
    let mut builtin_counts = MaskedCounts::default();
    builtins.mask_rows(
        &output.columns,
        &mut output.rows.clone(),
        &mut builtin_counts,
    );
    let planted = |counts: &MaskedCounts| {
        counts.by_pattern.get("cpf").copied().unwrap_or(0)
            + counts.by_pattern.get("email").copied().unwrap_or(0)
    };
    if planted(&builtin_counts) < planted(&seed_counts) {
        return Err(format!(
            "the built-ins masked fewer emails and CPFs ({}) than the seed patterns ({})",
            planted(&builtin_counts),
            planted(&seed_counts)
        ));
    }
    Ok(format!(
        "Values masked: (a) {} ({:?}); (b) {} ({:?}).",
        seed_counts.total, seed_counts.by_pattern, builtin_counts.total, builtin_counts.by_pattern
    ))
}
