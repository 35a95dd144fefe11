//! The threads that run a resource's blocking database work: at most one per pooled connection,
//! each taking the next queued operation as soon as it finishes the one before. A busy resource
//! so hands its work over without waking a thread, and without a thread waking the routing
//! thread to say a connection is free, for every operation. An operation whose time runs out,
//! or that is cancelled, while it is queued leaves the queue without running.

use crate::messages::OperationError;
use crate::metrics::{PoolGauges, Waiting};
use crate::protocol::ErrorCode;
use crate::resource::admission::cancelled_before_start;
use crate::resource::backend::crashed_as;
use crate::resource::{CancelHandle, Deadline};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

/// A queued operation's state: a worker takes it, or its requester gives up on it, not both.
const QUEUED: u8 = 0;
const TAKEN: u8 = 1;
const ABANDONED: u8 = 2;

/// One queued operation.
struct Job {
    state: Arc<AtomicU8>,
    /// Counts the operation in the queue depth until a worker takes it.
    waiting: Option<Waiting>,
    run: Box<dyn FnOnce() + Send>,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    threads: usize,
    /// Workers waiting for a job that no submit has woken yet.
    idle: usize,
    /// Wake-ups sent and not yet taken: each takes one waiting worker off `idle`, so a burst of
    /// submits wakes as many workers (or starts as many) as it has jobs.
    wakeups: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    max_threads: usize,
    name: String,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A resource's workers; they stop once they are dropped and the queue is empty.
pub struct Workers {
    shared: Arc<Shared>,
    gauges: PoolGauges,
}

/// A queued operation that panicked instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Panicked;

/// A queued operation's answer, to wait for. Dropped while the operation is still queued, it
/// takes the operation out of the queue.
pub struct Ticket<T> {
    state: Arc<AtomicU8>,
    shared: Arc<Shared>,
    answer: oneshot::Receiver<Result<T, Panicked>>,
}

impl Workers {
    /// Workers named after `name`, at most `max_threads` of them, started as work arrives.
    pub fn new(name: &str, max_threads: usize, gauges: PoolGauges) -> Self {
        let shared = Shared {
            queue: Mutex::default(),
            ready: Condvar::new(),
            max_threads: max_threads.max(1),
            name: format!("pg-{name}"),
        };
        Workers {
            shared: Arc::new(shared),
            gauges,
        }
    }

    /// Queues `work`, which runs unless its requester gives up on it first. It counts in the
    /// queue depth while no worker is free for it.
    pub fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Ticket<T> {
        let (answer_to, answer) = oneshot::channel();
        let state = Arc::new(AtomicU8::new(QUEUED));
        let run = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work)).map_err(|_| Panicked);
            // A requester that gave up waiting needs no answer.
            let _ = answer_to.send(outcome);
        });
        let mut queue = self.shared.queue();
        let woken = if queue.idle > 0 {
            queue.idle -= 1;
            queue.wakeups += 1;
            self.shared.ready.notify_one();
            true
        } else if queue.threads < self.shared.max_threads && self.start_worker() {
            queue.threads += 1;
            true
        } else {
            false
        };
        let ticket = Ticket {
            state: Arc::clone(&state),
            shared: Arc::clone(&self.shared),
            answer,
        };
        if queue.threads == 0 {
            // No thread could start and none runs to take it: `run` is dropped unrun, so the
            // ticket answers at once.
            state.store(ABANDONED, Ordering::Release);
            return ticket;
        }
        queue.jobs.push_back(Job {
            state: Arc::clone(&state),
            waiting: (!woken).then(|| self.gauges.waiting()),
            run,
        });
        ticket
    }

    /// Whether a new worker thread started; without one, those already running take the job.
    fn start_worker(&self) -> bool {
        let shared = Arc::clone(&self.shared);
        std::thread::Builder::new()
            .name(self.shared.name.clone())
            .spawn(move || work(&shared))
            .is_ok()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.shared.queue().closed = true;
        self.shared.ready.notify_all();
    }
}

/// Counts a worker out when it stops, even when dropping what a job left behind panics.
struct Counted<'a>(&'a Shared);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.queue().threads -= 1;
    }
}

/// A worker's loop: the next job while there is one, else wait; stop once closed and empty.
fn work(shared: &Shared) {
    let _counted = Counted(shared);
    let mut queue = shared.queue();
    loop {
        if let Some(Job {
            state,
            waiting,
            run,
        }) = queue.jobs.pop_front()
        {
            drop(queue);
            let taken = state
                .compare_exchange(QUEUED, TAKEN, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            drop(waiting);
            // A job given up on is dropped here too, before the lock is taken again: what it
            // holds (a pool, perhaps the last reference to it) may take time or locks to drop.
            if taken {
                run();
            } else {
                drop(run);
            }
            queue = shared.queue();
            continue;
        }
        if queue.closed {
            return;
        }
        queue = wait_for_job(shared, queue);
    }
}

/// Waits until a submit wakes this worker (taking it off `idle`) or the workers are closed.
fn wait_for_job<'a>(shared: &'a Shared, mut queue: MutexGuard<'a, Queue>) -> MutexGuard<'a, Queue> {
    queue.idle += 1;
    loop {
        queue = shared
            .ready
            .wait(queue)
            .unwrap_or_else(PoisonError::into_inner);
        if queue.wakeups > 0 {
            queue.wakeups -= 1;
            return queue;
        }
        if queue.closed {
            queue.idle -= 1;
            return queue;
        }
    }
}

impl<T> Ticket<T> {
    /// The operation's answer. While it is queued, the request's time running out or a cancel
    /// takes it out of the queue (as waiting for `what`); once a worker has taken it, the work
    /// itself keeps the deadline and hears the cancel.
    pub async fn answer(
        self,
        what: &str,
        deadline: &Deadline,
        cancel: &CancelHandle,
    ) -> Result<T, OperationError> {
        let mut ticket = self;
        let waited = deadline
            .bound(what, async {
                tokio::select! {
                    answered = &mut ticket.answer => Some(answered),
                    () = cancel.cancelled() => None,
                }
            })
            .await;
        let answered = match waited {
            Ok(Some(answered)) => answered,
            Ok(None) if ticket.abandon() => return Err(cancelled_before_start()),
            Err(expired) if ticket.abandon() => return Err(expired),
            // A worker has it: the work itself keeps the deadline and hears the cancel.
            Ok(None) | Err(_) => (&mut ticket.answer).await,
        };
        match answered {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Panicked)) => Err(crashed_as("the operation", true)),
            // Dropped unrun: no worker thread could start for it (workers finish every queued
            // job before they stop).
            Err(_) => Err(OperationError::new(
                ErrorCode::ResourceUnavailable,
                "no worker thread could run the operation",
            )),
        }
    }
}

/// The panic's message is not passed on (it could hold data); the panic hook logs where it was.
impl<T> Ticket<T> {
    /// Takes the operation out of the queue unless a worker has taken it; whether it did.
    fn abandon(&self) -> bool {
        let abandoned = self
            .state
            .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if abandoned {
            // Its gauge and everything it holds go at once, not when a worker reaches it.
            let removed = {
                let mut queue = self.shared.queue();
                let at = queue
                    .jobs
                    .iter()
                    .position(|job| Arc::ptr_eq(&job.state, &self.state));
                at.and_then(|at| queue.jobs.remove(at))
            };
            // Dropped after the lock is released.
            drop(removed);
        }
        abandoned
    }
}

impl<T> Drop for Ticket<T> {
    fn drop(&mut self) {
        self.abandon();
    }
}

#[cfg(test)]
#[path = "workers_tests.rs"]
mod tests;
