//! A scripted control plane for protocol tests: records what the relay sends, sends what a test says.

use actix_web::{rt, web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Item};
use serde_json::Value;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc as tokio_mpsc;

/// What the fake control plane saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Text(Value),
    Close(Option<u16>),
}

/// What a test asks the fake control plane to send.
#[derive(Debug)]
pub enum Send {
    Text(String),
    Fragments(Vec<String>),
    Binary(Vec<u8>),
}

type Commands = Arc<Mutex<Option<tokio_mpsc::UnboundedReceiver<Send>>>>;

pub struct FakeControlPlane {
    pub port: u16,
    seen: mpsc::Receiver<Seen>,
    commands: tokio_mpsc::UnboundedSender<Send>,
}

impl FakeControlPlane {
    pub fn start() -> FakeControlPlane {
        let (seen_tx, seen) = mpsc::channel();
        let (commands, command_rx) = tokio_mpsc::unbounded_channel();
        let command_rx: Commands = Arc::new(Mutex::new(Some(command_rx)));
        let (port_tx, port_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let system = rt::System::new();
            system.block_on(async move {
                let seen_tx = Arc::new(Mutex::new(seen_tx));
                let server = HttpServer::new(move || {
                    let seen_tx = Arc::clone(&seen_tx);
                    let command_rx = Arc::clone(&command_rx);
                    App::new().route(
                        "/v1/relay/connect",
                        web::get().to(move |req: HttpRequest, body: web::Payload| {
                            accept(req, body, Arc::clone(&seen_tx), Arc::clone(&command_rx))
                        }),
                    )
                })
                .workers(1)
                .bind("127.0.0.1:0")
                .unwrap();
                port_tx.send(server.addrs()[0].port()).unwrap();
                server.run().await.unwrap();
            });
        });
        let port = port_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        FakeControlPlane {
            port,
            seen,
            commands,
        }
    }

    pub fn send(&self, command: Send) {
        self.commands.send(command).unwrap();
    }

    pub fn send_text(&self, text: &str) {
        self.send(Send::Text(text.to_owned()));
    }

    /// The next thing seen, within `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Seen> {
        self.seen.recv_timeout(timeout).ok()
    }

    /// The next text message that is not `health` or `audit` (which arrive unprompted).
    pub fn next_reply(&self, timeout: Duration) -> Value {
        loop {
            match self.next(timeout) {
                Some(Seen::Text(value))
                    if value["type"] == "health" || value["type"] == "audit" =>
                {
                    continue
                }
                Some(Seen::Text(value)) => return value,
                other => panic!("expected a reply, got {other:?}"),
            }
        }
    }
}

async fn accept(
    req: HttpRequest,
    body: web::Payload,
    seen: Arc<Mutex<mpsc::Sender<Seen>>>,
    commands: Commands,
) -> actix_web::Result<HttpResponse> {
    let (response, mut session, stream) = actix_ws::handle(&req, body)?;
    let mut commands = commands.lock().unwrap().take();
    let mut stream = stream.aggregate_continuations();
    rt::spawn(async move {
        loop {
            let command = async {
                match commands.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                message = stream.recv() => match message {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        let _ = seen.lock().unwrap().send(Seen::Text(value));
                    }
                    Some(Ok(AggregatedMessage::Ping(payload))) => { let _ = session.pong(&payload).await; }
                    Some(Ok(AggregatedMessage::Close(reason))) => {
                        let _ = seen.lock().unwrap().send(Seen::Close(reason.as_ref().map(|r| u16::from(r.code))));
                        let _ = session.close(Some(CloseReason { code: CloseCode::Normal, description: None })).await;
                        return;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return,
                },
                command = command => match command {
                    Some(Send::Text(text)) => { let _ = session.text(text).await; }
                    Some(Send::Binary(bytes)) => { let _ = session.binary(bytes).await; }
                    Some(Send::Fragments(parts)) => {
                        let last = parts.len() - 1;
                        for (index, part) in parts.into_iter().enumerate() {
                            let bytes = actix_web::web::Bytes::from(part);
                            let item = match index {
                                0 => Item::FirstText(bytes),
                                i if i == last => Item::Last(bytes),
                                _ => Item::Continue(bytes),
                            };
                            let _ = session.continuation(item).await;
                        }
                    }
                    None => commands = None,
                },
            }
        }
    });
    Ok(response)
}
