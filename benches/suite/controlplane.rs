//! The load client: a control plane that speaks protocol v1 to the relay over its WebSocket, keeps
//! N requests in flight and times each answer. It acknowledges audit records as a real control
//! plane does, in batches, so the relay's spool never fills.

use actix_web::{rt, web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::{AggregatedMessage, Session};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc as tokio_mpsc;

const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Audit records acknowledged at once.
const ACK_EVERY: u64 = 32;

/// Builds the text of one `request` message, given its id.
pub type RequestMaker = Box<dyn FnMut(&str) -> String + Send>;

/// Checks one answer: `Err` says what is wrong with it.
pub type AnswerCheck = fn(&Answer) -> Result<(), String>;

/// What one timed run measured.
#[derive(Debug, Default)]
pub struct LoadRun {
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    /// The first few failures (error answers or answers that failed the check), and how many.
    pub failures: Vec<String>,
    pub failed: u64,
}

/// The parts of a relay message the load client looks at; the rest is skipped unparsed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
    pub row_count: Option<u64>,
    pub masked: Option<Masked>,
    pub code: Option<String>,
    pub message: Option<String>,
    record: Option<AuditRecord>,
}

#[derive(Debug, Deserialize)]
pub struct Masked {
    pub total: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditRecord {
    chain_id: String,
    seq: u64,
}

struct Run {
    make: RequestMaker,
    check: AnswerCheck,
    in_flight: usize,
    duration: Duration,
    done: mpsc::Sender<LoadRun>,
}

type Runs = Arc<Mutex<Option<tokio_mpsc::UnboundedReceiver<Run>>>>;

/// The running load client; the relay connects to `ws://127.0.0.1:{port}/v1/relay/connect`.
pub struct LoadClient {
    pub port: u16,
    runs: tokio_mpsc::UnboundedSender<Run>,
    hello: mpsc::Receiver<()>,
}

impl LoadClient {
    pub fn start() -> Result<LoadClient, String> {
        let (runs, run_rx) = tokio_mpsc::unbounded_channel();
        let run_rx: Runs = Arc::new(Mutex::new(Some(run_rx)));
        let (hello_tx, hello) = mpsc::channel();
        let (port_tx, port_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let system = rt::System::new();
            let served = system.block_on(async move {
                let hello_tx = Arc::new(Mutex::new(hello_tx));
                let server = HttpServer::new(move || {
                    let (run_rx, hello_tx) = (Arc::clone(&run_rx), Arc::clone(&hello_tx));
                    App::new().route(
                        "/v1/relay/connect",
                        web::get().to(move |req: HttpRequest, body: web::Payload| {
                            accept(req, body, Arc::clone(&run_rx), Arc::clone(&hello_tx))
                        }),
                    )
                })
                .on_connect(relay::devplane::disable_nagle)
                .workers(1)
                .bind("127.0.0.1:0")?;
                let _ = port_tx.send(server.addrs().first().map(|a| a.port()));
                server.run().await
            });
            if let Err(err) = served {
                eprintln!("load client stopped: {err}");
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(10))
            .ok()
            .flatten()
            .ok_or("the load client did not start")?;
        Ok(LoadClient { port, runs, hello })
    }

    /// Waits for the relay's `hello`.
    pub fn wait_for_relay(&self, timeout: Duration) -> Result<(), String> {
        self.hello
            .recv_timeout(timeout)
            .map_err(|_| format!("the relay did not connect within {timeout:?}"))
    }

    /// Keeps `in_flight` requests made by `make` going for `duration`, then waits for the last.
    pub fn run(
        &self,
        make: RequestMaker,
        check: AnswerCheck,
        in_flight: usize,
        duration: Duration,
    ) -> Result<LoadRun, String> {
        let (done, result) = mpsc::channel();
        let run = Run {
            make,
            check,
            in_flight,
            duration,
            done,
        };
        self.runs
            .send(run)
            .map_err(|_| "the load client is gone".to_owned())?;
        result
            .recv_timeout(duration + Duration::from_secs(120))
            .map_err(|_| "the relay stopped answering".to_owned())
    }
}

async fn accept(
    req: HttpRequest,
    body: web::Payload,
    runs: Runs,
    hello: Arc<Mutex<mpsc::Sender<()>>>,
) -> actix_web::Result<HttpResponse> {
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    // Only the first connection gets the runs; a reconnect after a failure ends the benchmark.
    let runs = runs.lock().ok().and_then(|mut runs| runs.take());
    if let Some(runs) = runs {
        // As large as the relay may send (its maxMessageBytes default).
        let stream = stream
            .max_frame_size(MAX_MESSAGE_BYTES)
            .aggregate_continuations()
            .max_continuation_size(MAX_MESSAGE_BYTES);
        rt::spawn(serve(session, stream, runs, hello));
    }
    Ok(response)
}

/// One timed run in progress.
struct Active {
    run: Run,
    sent: HashMap<String, Instant>,
    next_id: u64,
    started: Instant,
    measured: LoadRun,
}

impl Active {
    async fn send_one(&mut self, session: &mut Session) {
        self.next_id += 1;
        let id = format!("b{}", self.next_id);
        let text = (self.run.make)(&id);
        self.sent.insert(id, Instant::now());
        let _ = session.text(text).await;
    }

    fn record(&mut self, answer: &Answer, sent: Instant) {
        self.measured.latencies.push(sent.elapsed());
        let verdict = match answer.kind.as_str() {
            "result" => (self.run.check)(answer),
            _ => Err(format!(
                "{}: {}",
                answer.code.as_deref().unwrap_or("?"),
                answer.message.as_deref().unwrap_or("")
            )),
        };
        if let Err(why) = verdict {
            self.measured.failed += 1;
            if self.measured.failures.len() < 3 {
                self.measured.failures.push(why);
            }
        }
    }
}

async fn serve(
    mut session: Session,
    mut stream: actix_ws::AggregatedMessageStream,
    mut runs: tokio_mpsc::UnboundedReceiver<Run>,
    hello: Arc<Mutex<mpsc::Sender<()>>>,
) {
    let mut active: Option<Active> = None;
    loop {
        let next_run = async {
            match active {
                None => runs.recv().await,
                Some(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            message = stream.recv() => match message {
                Some(Ok(AggregatedMessage::Text(text))) => {
                    let Ok(answer) = serde_json::from_str::<Answer>(&text) else { continue };
                    if !on_message(&mut session, &mut active, answer, &hello).await {
                        return;
                    }
                }
                Some(Ok(AggregatedMessage::Ping(payload))) => { let _ = session.pong(&payload).await; }
                Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            run = next_run => {
                let Some(run) = run else { return };
                let mut started = Active {
                    started: Instant::now(),
                    sent: HashMap::with_capacity(run.in_flight),
                    next_id: 0,
                    measured: LoadRun::default(),
                    run,
                };
                for _ in 0..started.run.in_flight {
                    started.send_one(&mut session).await;
                }
                active = Some(started);
            }
        }
    }
}

/// Handles one message from the relay; false when the benchmark cannot go on.
async fn on_message(
    session: &mut Session,
    active: &mut Option<Active>,
    answer: Answer,
    hello: &Mutex<mpsc::Sender<()>>,
) -> bool {
    match answer.kind.as_str() {
        "hello" => hello.lock().map(|h| h.send(()).is_ok()).unwrap_or(false),
        "audit" => {
            // Acknowledgements are cumulative: one per batch of records, as a control plane that
            // stores records in batches would send.
            if let Some(record) = answer.record.as_ref().filter(|r| r.seq % ACK_EVERY == 0) {
                let ack = serde_json::json!({"type": "auditAck", "chainId": record.chain_id, "seq": record.seq});
                let _ = session.text(ack.to_string()).await;
            }
            true
        }
        "result" | "error" => {
            let Some(run) = active.as_mut() else {
                return true;
            };
            let Some(sent) = answer.id.as_ref().and_then(|id| run.sent.remove(id)) else {
                return true;
            };
            run.record(&answer, sent);
            if run.started.elapsed() < run.run.duration {
                run.send_one(session).await;
            } else if run.sent.is_empty() {
                if let Some(mut finished) = active.take() {
                    finished.measured.elapsed = finished.started.elapsed();
                    let _ = finished.run.done.send(finished.measured);
                }
            }
            true
        }
        _ => true,
    }
}
