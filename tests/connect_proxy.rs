//! A small HTTP CONNECT proxy for tests, on 127.0.0.1: it records every tunnel asked of it, can
//! demand Basic credentials (407 when they are missing or wrong), or stay silent after accepting.
//! It tunnels only to loopback addresses and refuses any other target with 403. With a
//! certificate it is an `https://` proxy: TLS to it first, then CONNECT inside.

use crate::private_ca::ServerCert;
use base64::Engine;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{ErrorKind, Read, Write};
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

type Record = Arc<Mutex<Vec<Tunnel>>>;

pub struct ConnectProxy {
    pub port: u16,
    tls: bool,
    tunnels: Record,
}

impl ConnectProxy {
    pub fn start(mode: Mode) -> ConnectProxy {
        Self::listen(mode, None)
    }

    /// An `https://` proxy presenting `cert`.
    pub fn start_tls(mode: Mode, cert: &ServerCert) -> ConnectProxy {
        let config = relay::devplane::tls::server_config(&cert.cert_file, &cert.key_file).unwrap();
        Self::listen(mode, Some(Arc::new(config)))
    }

    fn listen(mode: Mode, tls: Option<Arc<ServerConfig>>) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tunnels: Record = Arc::default();
        let record = Arc::clone(&tunnels);
        let secure = tls.is_some();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (mode, record, tls) = (mode.clone(), Arc::clone(&record), tls.clone());
                std::thread::spawn(move || match tls {
                    None => serve(client, &mode, &record),
                    Some(tls) => serve_tls(client, tls, &mode, &record),
                });
            }
        });
        ConnectProxy {
            port,
            tls: secure,
            tunnels,
        }
    }

    /// `http://127.0.0.1:PORT` (`https://` for a TLS proxy), with `userinfo@` when given.
    pub fn url(&self, userinfo: Option<&str>) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        match userinfo {
            Some(userinfo) => format!("{scheme}://{userinfo}@127.0.0.1:{}", self.port),
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    pub fn tunnels(&self) -> Vec<Tunnel> {
        self.tunnels.lock().unwrap().clone()
    }
}

fn serve(mut client: TcpStream, mode: &Mode, record: &Record) {
    if let Some(upstream) = answer(&mut client, mode, record) {
        pipe(client, upstream);
    }
}

fn serve_tls(client: TcpStream, config: Arc<ServerConfig>, mode: &Mode, record: &Record) {
    let Ok(connection) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = StreamOwned::new(connection, client);
    if let Some(upstream) = answer(&mut tls, mode, record) {
        pump(tls, upstream);
    }
}

/// Reads the CONNECT request, records it and answers; the upstream socket when tunnelling.
fn answer(client: &mut impl ReadWrite, mode: &Mode, record: &Record) -> Option<TcpStream> {
    let head = read_head(client)?;
    if let Mode::Silent = mode {
        std::thread::sleep(Duration::from_secs(60));
        return None;
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
        let _ = client.flush();
        return None;
    }
    let Ok(upstream) = TcpStream::connect(&target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        let _ = client.flush();
        return None;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let _ = client.flush();
    Some(upstream)
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

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

fn read_head(client: &mut impl Read) -> Option<String> {
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
    let mut client_read = client.try_clone().unwrap();
    let mut upstream_write = upstream.try_clone().unwrap();
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = std::io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(std::net::Shutdown::Write);
    let _ = forward.join();
}

/// Copies bytes both ways between a TLS session and a socket on one thread (a TLS session
/// cannot be split), polling each side with a short read timeout.
fn pump(mut tls: StreamOwned<ServerConnection, TcpStream>, mut upstream: TcpStream) {
    let poll = Some(Duration::from_millis(5));
    if tls.sock.set_read_timeout(poll).is_err() || upstream.set_read_timeout(poll).is_err() {
        return;
    }
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match tls.read(&mut buffer) {
            Ok(0) => return,
            Ok(read) if upstream.write_all(&buffer[..read]).is_err() => return,
            Ok(_) => {}
            Err(err) if is_idle(&err) => {}
            Err(_) => return,
        }
        match upstream.read(&mut buffer) {
            Ok(0) => return,
            Ok(read)
                if tls
                    .write_all(&buffer[..read])
                    .and_then(|()| tls.flush())
                    .is_err() =>
            {
                return
            }
            Ok(_) => {}
            Err(err) if is_idle(&err) => {}
            Err(_) => return,
        }
    }
}

fn is_idle(error: &std::io::Error) -> bool {
    matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}
