//! A small HTTP CONNECT proxy for tests, on 127.0.0.1: it records every tunnel asked of it, can
//! demand Basic credentials (407 when they are missing or wrong), or stay silent after accepting.
//! It tunnels only to loopback addresses and refuses any other target with 403.

use base64::Engine;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the proxy treats requests.
#[derive(Clone)]
pub enum Mode {
    /// Tunnels every request to a loopback target.
    Open,
    /// Wants `Proxy-Authorization: Basic` with this `user:password`.
    Basic(&'static str),
    /// Accepts connections and never answers.
    Silent,
}

/// One CONNECT request the proxy received, and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Tunnel {
    pub target: String,
    pub authorization: Option<String>,
    pub status: u16,
}

pub struct ConnectProxy {
    pub port: u16,
    tunnels: Arc<Mutex<Vec<Tunnel>>>,
}

impl ConnectProxy {
    pub fn start(mode: Mode) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&tunnels);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (mode, record) = (mode.clone(), Arc::clone(&record));
                std::thread::spawn(move || serve(client, &mode, &record));
            }
        });
        ConnectProxy { port, tunnels }
    }

    /// `http://127.0.0.1:PORT`, with `userinfo@` when given.
    pub fn url(&self, userinfo: Option<&str>) -> String {
        match userinfo {
            Some(userinfo) => format!("http://{userinfo}@127.0.0.1:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    pub fn tunnels(&self) -> Vec<Tunnel> {
        self.tunnels.lock().unwrap().clone()
    }
}

fn serve(mut client: TcpStream, mode: &Mode, record: &Mutex<Vec<Tunnel>>) {
    let Some(head) = read_head(&mut client) else {
        return;
    };
    if let Mode::Silent = mode {
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let first = head.lines().next().unwrap_or_default().to_owned();
    let target = first.split(' ').nth(1).unwrap_or_default().to_owned();
    let authorization = head
        .lines()
        .find_map(|line| line.strip_prefix("Proxy-Authorization: "))
        .map(str::to_owned);
    let status = match mode {
        Mode::Basic(pair) if authorization != Some(basic(pair)) => 407,
        _ if !first.starts_with("CONNECT ") => 405,
        _ if !is_loopback_target(&target) => 403,
        _ => 200,
    };
    record.lock().unwrap().push(Tunnel {
        target: target.clone(),
        authorization,
        status,
    });
    if status != 200 {
        let reply = format!(
            "HTTP/1.1 {status} Refused\r\nProxy-Authenticate: Basic realm=\"test\"\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = client.write_all(reply.as_bytes());
        return;
    }
    let Ok(upstream) = TcpStream::connect(&target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    pipe(client, upstream);
}

fn basic(pair: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `127.x.x.x:port`, `[::1]:port` or `localhost:port`.
fn is_loopback_target(target: &str) -> bool {
    let Some((host, _port)) = target.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn read_head(client: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        client.read_exact(&mut byte).ok()?;
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

/// Copies bytes both ways until either side closes.
fn pipe(client: TcpStream, upstream: TcpStream) {
    let (mut client_read, mut upstream_write) =
        (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = std::io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Write);
    let _ = forward.join();
}
