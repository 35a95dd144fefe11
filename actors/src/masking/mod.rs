//! PII masking: the pure engine (patterns, built-in detectors, column rules) and the actor that
//! applies it to everything leaving the relay: a few small values on its own thread, anything larger
//! on a bounded pool of worker threads so masking uses every core without stalling the actor system.

mod builtins;
mod bytes;
mod columns;
mod compiled;
mod counts;
pub mod engine;
mod number_grammar;
mod numbers;
mod protection;
mod scan;
#[cfg(test)]
mod traced_tests;
mod validators;
mod values;
mod written;

use crate::messages::{Mask, MaskPayload, Masked, MaskingError, OperationOutput};
use crate::protocol::{Column, MaskedCounts};
use actix::{Actor, Context, Handler, ResponseFuture};
pub use engine::MaskingEngine;
use futures_util::future::join_all;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::Semaphore;
pub use values::ColumnPlan;

/// Below this many rows per worker a result is masked in one piece: splitting would cost more than
/// it saves.
const MIN_ROWS_PER_CHUNK: usize = 256;

/// The masking actor: owns the compiled engine and masks payloads on request. Small payloads are
/// masked at once; the rest runs on the runtime's blocking threads, at most `workers` at once, a
/// large result split across them. A panic either way becomes an error, and with it nothing is
/// sent (fail closed).
pub struct Masker {
    pool: WorkerPool,
}

impl Masker {
    /// A masker with one worker per available core.
    pub fn new(engine: Arc<MaskingEngine>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_workers(engine, cores)
    }

    /// A masker with a fixed number of workers (at least one).
    pub fn with_workers(engine: Arc<MaskingEngine>, workers: usize) -> Self {
        let workers = workers.max(1);
        Masker {
            pool: WorkerPool {
                engine,
                permits: Arc::new(Semaphore::new(workers)),
                workers,
            },
        }
    }
}

impl Actor for Masker {
    type Context = Context<Self>;
}

impl Handler<Mask> for Masker {
    type Result = ResponseFuture<Result<Masked, MaskingError>>;

    fn handle(&mut self, message: Mask, _ctx: &mut Context<Self>) -> Self::Result {
        let Mask { payload, slot } = message;
        if is_small(&payload) {
            let masked = mask_here(&self.pool.engine, payload);
            drop(slot);
            return Box::pin(async move { masked });
        }
        let pool = self.pool.clone();
        // actix runs this future to its end even when the sender stopped waiting, so the slot is
        // held exactly as long as the unmasked payload lives.
        Box::pin(async move {
            let masked = match payload {
                MaskPayload::Text(text) => pool.mask_text(text).await,
                MaskPayload::Output(output) => pool.mask_output(output).await,
            };
            drop(slot);
            masked
        })
    }
}

/// Payloads of at most this many cells and about this many bytes are masked on the actor's own
/// thread: for a few rows, handing the work to a worker thread and back costs more than the work.
const INLINE_CELLS: usize = 256;
const INLINE_BYTES: usize = 32 * 1024;

fn is_small(payload: &MaskPayload) -> bool {
    use crate::json_size::approximate_json_size;
    match payload {
        MaskPayload::Text(text) => text.len() <= INLINE_BYTES,
        MaskPayload::Output(output) => {
            let cells: usize = output.rows.iter().map(Vec::len).sum();
            if cells > INLINE_CELLS {
                return false;
            }
            let bytes: usize = output
                .rows
                .iter()
                .flatten()
                .chain(&output.details)
                .map(approximate_json_size)
                .sum();
            bytes <= INLINE_BYTES
        }
    }
}

/// Masks a small payload right here. A panic becomes an error, as on a worker: nothing is sent.
fn mask_here(engine: &MaskingEngine, payload: MaskPayload) -> Result<Masked, MaskingError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mask_whole(engine, payload)))
        .map_err(|_| MaskingError("masking failed".into()))
}

/// Masks a payload in one piece.
fn mask_whole(engine: &MaskingEngine, mut payload: MaskPayload) -> Masked {
    let counts = engine.mask_payload(&mut payload);
    Masked { payload, counts }
}

/// The engine, the permits bounding how many workers run at once, and how many there are.
#[derive(Clone)]
struct WorkerPool {
    engine: Arc<MaskingEngine>,
    permits: Arc<Semaphore>,
    workers: usize,
}

impl WorkerPool {
    /// Runs `job` on a blocking thread once a worker permit is free.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&MaskingEngine) -> T + Send + 'static,
    ) -> Result<T, MaskingError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| MaskingError("masking workers are shut down".into()))?;
        let engine = Arc::clone(&self.engine);
        let task = actix_rt::task::spawn_blocking(move || {
            let result = job(&engine);
            drop(permit);
            result
        });
        task.await
            .map_err(|err| MaskingError(format!("masking worker failed: {err}")))
    }

    async fn mask_text(&self, text: String) -> Result<Masked, MaskingError> {
        self.run(move |engine| mask_whole(engine, MaskPayload::Text(text)))
            .await
    }

    async fn mask_output(&self, output: OperationOutput) -> Result<Masked, MaskingError> {
        let OperationOutput {
            columns,
            rows,
            truncated,
            details,
            lineage,
            written,
        } = output;
        let columns: Arc<[Column]> = columns.into();
        let lineage = Arc::new(lineage);
        let mut details = Some(details);
        let jobs = split_rows(rows, self.workers).into_iter().map(|mut chunk| {
            let columns = Arc::clone(&columns);
            let lineage = Arc::clone(&lineage);
            // The first chunk's worker also masks the details, so a small result is one job.
            let mut details = details.take().flatten();
            self.run(move |engine| {
                let mut counts = MaskedCounts::default();
                engine.mask_traced_rows(&columns, &lineage, &mut chunk, &mut counts);
                if let Some(value) = details.as_mut() {
                    engine.mask_value(value, &mut counts);
                }
                (chunk, details, counts)
            })
        });
        let mut rows = Vec::new();
        let mut details = None;
        let mut counts = written
            .as_ref()
            .map(|written| written.counts().clone())
            .unwrap_or_default();
        for chunk in join_all(jobs).await {
            let (chunk_rows, chunk_details, chunk_counts) = chunk?;
            rows.extend(chunk_rows);
            details = details.or(chunk_details);
            engine::merge_counts(&mut counts, chunk_counts);
        }
        let output = OperationOutput {
            columns: columns.to_vec(),
            rows,
            truncated,
            details,
            lineage: Arc::unwrap_or_clone(lineage),
            written,
        };
        Ok(Masked {
            payload: MaskPayload::Output(output),
            counts,
        })
    }
}

/// Splits rows into at most `workers` chunks of at least `MIN_ROWS_PER_CHUNK` rows, in order.
fn split_rows(mut rows: Vec<Vec<Value>>, workers: usize) -> Vec<Vec<Vec<Value>>> {
    let pieces = (rows.len() / MIN_ROWS_PER_CHUNK).clamp(1, workers.max(1));
    let size = rows.len().div_ceil(pieces).max(1);
    let mut chunks = Vec::with_capacity(pieces);
    while rows.len() > size {
        let rest = rows.split_off(size);
        chunks.push(rows);
        rows = rest;
    }
    chunks.push(rows);
    chunks
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_split_in_order_into_at_most_one_chunk_per_worker() {
        let rows: Vec<Vec<Value>> = (0..1000).map(|i| vec![json!(i)]).collect();
        let chunks = split_rows(rows.clone(), 3);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.concat(), rows);
        assert_eq!(split_rows(rows[..300].to_vec(), 4).len(), 1);
        assert_eq!(split_rows(Vec::new(), 4), vec![Vec::<Vec<Value>>::new()]);
    }

    fn output(rows: Vec<Vec<Value>>) -> MaskPayload {
        MaskPayload::Output(OperationOutput {
            columns: Vec::new(),
            rows,
            truncated: false,
            details: None,
            lineage: Default::default(),
            written: None,
        })
    }

    #[test]
    fn only_a_few_small_cells_are_masked_on_the_actor_thread() {
        assert!(is_small(&output(vec![vec![json!(1), json!("a@b.co")]])));
        assert!(!is_small(&output(
            (0..300).map(|i| vec![json!(i)]).collect()
        )));
        assert!(!is_small(&output(vec![vec![json!("x".repeat(40_000))]])));
        assert!(is_small(&MaskPayload::Text("error at a@b.co".into())));
        assert!(!is_small(&MaskPayload::Text("x".repeat(40_000))));
    }
}
