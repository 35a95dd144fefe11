//! Workers: never more threads than connections, queued work in order, the queue depth, and a
//! queued operation that times out, is cancelled or panics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Duration;

fn long_deadline() -> Deadline {
    Deadline::after(Duration::from_secs(60))
}

/// A job that runs until told to finish; it says when it started.
fn blocker(workers: &Workers) -> (Ticket<()>, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (started_to, started) = mpsc::channel();
    let (finish, finish_from) = mpsc::channel::<()>();
    let ticket = workers.submit(move || {
        started_to.send(()).unwrap();
        finish_from.recv().unwrap();
    });
    (ticket, started, finish)
}

/// Runs 40 jobs on `connections` workers: the threads they ran on, in the order they ran.
async fn forty_jobs(connections: usize) -> (HashSet<std::thread::ThreadId>, Vec<usize>) {
    let workers = Workers::new("db", connections, PoolGauges::default());
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let order = Arc::new(Mutex::new(Vec::new()));
    let tickets: Vec<_> = (0..40)
        .map(|n| {
            let (threads, order) = (Arc::clone(&threads), Arc::clone(&order));
            workers.submit(move || {
                threads.lock().unwrap().insert(std::thread::current().id());
                order.lock().unwrap().push(n);
                n * 2
            })
        })
        .collect();
    let cancel = CancelHandle::default();
    for (n, ticket) in tickets.into_iter().enumerate() {
        let answer = ticket
            .answer("a connection", &long_deadline(), &cancel)
            .await;
        assert_eq!(answer.unwrap(), n * 2);
    }
    let threads = threads.lock().unwrap().clone();
    let order = order.lock().unwrap().clone();
    (threads, order)
}

#[actix_rt::test]
async fn queued_work_runs_in_order_on_no_more_threads_than_connections() {
    let (threads, order) = forty_jobs(1).await;
    assert_eq!(threads.len(), 1);
    assert_eq!(order, (0..40).collect::<Vec<_>>());
    let (threads, order) = forty_jobs(2).await;
    assert!(threads.len() <= 2, "{threads:?}");
    assert_eq!(order.len(), 40);
}

#[actix_rt::test]
async fn a_queued_operation_counts_in_the_queue_depth_until_a_worker_takes_it() {
    let gauges = PoolGauges::default();
    let workers = Workers::new("db", 1, gauges.clone());
    let (running, started, finish) = blocker(&workers);
    started.recv().unwrap();
    assert_eq!(gauges.queued(), 0);
    let queued = workers.submit(|| 7);
    assert_eq!(gauges.queued(), 1);
    finish.send(()).unwrap();
    let cancel = CancelHandle::default();
    running
        .answer("x", &long_deadline(), &cancel)
        .await
        .unwrap();
    assert_eq!(
        queued.answer("x", &long_deadline(), &cancel).await.unwrap(),
        7
    );
    assert_eq!(gauges.queued(), 0);
}

/// Submits a job that records whether it ran behind a blocker, lets `give_up` end its wait, then
/// lets the blocker finish: the job must never run. What `give_up` returned.
async fn given_up_by<R, F: std::future::Future<Output = R>>(
    give_up: impl FnOnce(Ticket<()>) -> F,
) -> (R, PoolGauges) {
    let gauges = PoolGauges::default();
    let workers = Workers::new("db", 1, gauges.clone());
    let (running, started, finish) = blocker(&workers);
    started.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let ran_in_job = Arc::clone(&ran);
    let queued = workers.submit(move || ran_in_job.store(true, Ordering::SeqCst));
    let refused = give_up(queued).await;
    // Out of the queue at once, while the operation ahead of it still runs.
    assert!(workers.shared.queue().jobs.is_empty());
    assert_eq!(gauges.queued(), 0);
    finish.send(()).unwrap();
    let never = CancelHandle::default();
    running.answer("x", &long_deadline(), &never).await.unwrap();
    // A job queued after the abandoned one runs, so the abandoned one was passed over.
    let after = workers.submit(|| ());
    after.answer("x", &long_deadline(), &never).await.unwrap();
    assert!(!ran.load(Ordering::SeqCst), "an abandoned operation ran");
    (refused, gauges)
}

/// A queued job whose request gives up on it with `deadline` or `cancel`: why it was refused.
async fn given_up_while_queued(
    deadline: Deadline,
    cancel: CancelHandle,
) -> (OperationError, PoolGauges) {
    let (answered, gauges) = given_up_by(|queued| async move {
        queued
            .answer("a database connection", &deadline, &cancel)
            .await
    })
    .await;
    (answered.expect_err("refused while queued"), gauges)
}

#[actix_rt::test]
async fn an_operation_whose_time_runs_out_in_the_queue_never_runs() {
    let deadline = Deadline::after(Duration::from_millis(50));
    let (refused, gauges) = given_up_while_queued(deadline, CancelHandle::default()).await;
    assert_eq!(refused.code, ErrorCode::Timeout);
    assert!(
        refused.message.contains("a database connection"),
        "{}",
        refused.message
    );
    assert_eq!(gauges.queued(), 0);
}

#[actix_rt::test]
async fn an_operation_cancelled_in_the_queue_never_runs() {
    let cancel = CancelHandle::default();
    let cancelling = cancel.clone();
    actix_rt::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancelling.cancel();
    });
    let (refused, gauges) = given_up_while_queued(long_deadline(), cancel).await;
    assert_eq!(refused.code, ErrorCode::Cancelled);
    assert_eq!(gauges.queued(), 0);
}

#[actix_rt::test]
async fn a_panic_answers_without_its_message_and_the_worker_goes_on() {
    let workers = Workers::new("db", 1, PoolGauges::default());
    let secret = String::from("hunter2");
    let cancel = CancelHandle::default();
    let panicked = workers.submit(move || -> u8 { panic!("masking {secret}") });
    let err = panicked
        .answer("x", &long_deadline(), &cancel)
        .await
        .expect_err("it panicked");
    assert_eq!(err.code, ErrorCode::Internal);
    assert!(err.message.contains("panicked"), "{}", err.message);
    assert!(!err.message.contains("hunter2"), "{}", err.message);
    let next = workers.submit(|| 1);
    assert_eq!(
        next.answer("x", &long_deadline(), &cancel).await.unwrap(),
        1
    );
}

#[actix_rt::test]
async fn work_taken_before_the_deadline_is_answered_after_it() {
    let workers = Workers::new("db", 1, PoolGauges::default());
    let (started_to, started) = mpsc::channel();
    let ticket = workers.submit(move || {
        started_to.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        "done"
    });
    started.recv().unwrap();
    let deadline = Deadline::after(Duration::from_millis(20));
    let answer = ticket
        .answer("x", &deadline, &CancelHandle::default())
        .await;
    assert_eq!(answer.unwrap(), "done");
}

#[actix_rt::test]
async fn a_queued_operation_dropped_by_its_requester_never_runs() {
    let ((), gauges) = given_up_by(|queued| async move { drop(queued) }).await;
    assert_eq!(gauges.queued(), 0);
}

#[actix_rt::test]
async fn a_burst_wakes_or_starts_a_worker_for_each_operation() {
    let workers = Workers::new("db", 3, PoolGauges::default());
    let cancel = CancelHandle::default();
    // One worker is started and left waiting.
    workers
        .submit(|| ())
        .answer("x", &long_deadline(), &cancel)
        .await
        .unwrap();
    for _ in 0..10_000 {
        if workers.shared.queue().idle > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(workers.shared.queue().idle, 1);
    let burst: Vec<_> = (0..3).map(|_| blocker(&workers)).collect();
    // All three run at once: the waiting worker takes one and two more start.
    for (_, started, _) in &burst {
        started.recv_timeout(Duration::from_secs(30)).unwrap();
    }
    assert_eq!(workers.shared.queue().threads, 3);
    for (ticket, _, finish) in burst {
        finish.send(()).unwrap();
        ticket.answer("x", &long_deadline(), &cancel).await.unwrap();
    }
}
