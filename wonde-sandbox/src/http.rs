//! A small HTTP/1.1 server on `std::net`: one thread per connection,
//! keep-alive, `Content-Length` bodies.
//!
//! Why not tiny_http: the sandbox must be able to cut a body short and drop
//! a connection unanswered. tiny_http answers 500 for a request dropped
//! unanswered and keeps the socket open after a short body, so neither
//! fault can be acted out through it.

use super::lock;
use bytes::Bytes;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The longest request line or header line accepted.
const MAX_LINE: u64 = 16 * 1024;
/// The most header lines accepted.
const MAX_HEADERS: usize = 100;
/// The largest request body read (and thrown away: the API is read-only).
const MAX_BODY: u64 = 1024 * 1024;
/// How long an idle keep-alive connection is kept.
const IDLE: Duration = Duration::from_secs(60);

/// A parsed request.
#[derive(Debug)]
pub(super) struct Request {
    pub method: String,
    /// The path and query, as sent.
    target: String,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
    keep_alive: bool,
}

impl Request {
    pub(super) fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&self.target, |(path, _)| path)
    }

    /// The path and query, as sent.
    pub(super) fn target(&self) -> &str {
        &self.target
    }

    pub(super) fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, query)| query)
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response: a JSON body with its status and extra headers.
#[derive(Debug)]
pub(super) struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// Shared, so a page rendered once is served without copying.
    pub body: Bytes,
}

impl Response {
    /// A JSON response.
    pub(super) fn json(status: u16, value: &impl Serialize) -> Response {
        let body = serde_json::to_vec(value).expect("the sandbox's JSON always serialises");
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// An error: `{"error": <reason>, "error_description": <what is wrong>}`.
    pub(super) fn error(status: u16, description: &str) -> Response {
        let body = serde_json::json!({"error": reason(status), "error_description": description});
        Response::json(status, &body)
    }
}

/// How a response goes out.
#[derive(Debug)]
pub(super) enum Reply {
    /// Whole.
    Send(Response),
    /// Headers as for the whole body, half the body, then the connection closed.
    Truncate(Response),
    /// Nothing: the connection is closed abortively.
    Reset,
}

/// What answers each request; called from many connection threads at once.
pub(super) type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running server. Dropping it stops it and waits for its threads.
pub(super) struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    /// A handle on every open connection, to close them all when stopping.
    open: Arc<Mutex<HashMap<u64, TcpStream>>>,
    acceptor: Option<JoinHandle<Vec<JoinHandle<()>>>>,
}

impl Server {
    /// Serves connections to `listener` with `handler` until dropped.
    pub(super) fn start(listener: TcpListener, handler: Handler) -> io::Result<Server> {
        let addr = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(HashMap::new()));
        let acceptor = {
            let (stopping, open) = (stopping.clone(), open.clone());
            thread::Builder::new()
                .name("wonde-sandbox-accept".into())
                .spawn(move || accept(&listener, &stopping, &open, &handler))?
        };
        Ok(Server {
            addr,
            stopping,
            open,
            acceptor: Some(acceptor),
        })
    }

    fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.stopping.store(true, Ordering::SeqCst);
        // accept() has no timeout: a connection of our own wakes it up.
        drop(TcpStream::connect(self.addr));
        let workers = acceptor.join().unwrap_or_default();
        for stream in lock(&self.open).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        for worker in workers {
            let _ = worker.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Accepts connections until stopped; returns the threads still serving.
fn accept(
    listener: &TcpListener,
    stopping: &AtomicBool,
    open: &Arc<Mutex<HashMap<u64, TcpStream>>>,
    handler: &Handler,
) -> Vec<JoinHandle<()>> {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    for (id, stream) in (0u64..).zip(listener.incoming()) {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            // Out of file descriptors, say: give connections time to close.
            thread::sleep(Duration::from_millis(50));
            continue;
        };
        // Dropping a finished thread's handle frees it.
        workers.retain(|w| !w.is_finished());
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        lock(open).insert(id, handle);
        let (registry, handler) = (open.clone(), handler.clone());
        let worker = thread::Builder::new()
            .name("wonde-sandbox-conn".into())
            .spawn(move || {
                serve(stream, &handler);
                // The last handle on the socket: closing it ends the connection.
                lock(&registry).remove(&id);
            });
        match worker {
            Ok(worker) => workers.push(worker),
            Err(_) => drop(lock(open).remove(&id)),
        }
    }
    workers
}

/// Answers one connection's requests until it closes, asks to close, or a
/// fault closes it.
fn serve(stream: TcpStream, handler: &Handler) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    loop {
        let request = match read_request(&mut reader) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                let response = Response::error(400, &e.to_string());
                let _ = write_response(&stream, &response, response.body.len(), false);
                return;
            }
        };
        let keep_alive = request.keep_alive;
        let sent = match handler(&request) {
            Reply::Send(response) => {
                write_response(&stream, &response, response.body.len(), keep_alive)
            }
            Reply::Truncate(response) => {
                let _ = write_response(&stream, &response, response.body.len() / 2, false);
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Reply::Reset => {
                abort_on_close(&stream);
                return;
            }
        };
        if sent.is_err() || !keep_alive {
            return;
        }
    }
}

/// Reads one request; `None` when the client closed (or went idle) between
/// requests.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some(request_line) = read_head_line(reader, true)? else {
        return Ok(None);
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("only HTTP/1.x is served"));
    }
    let headers = read_headers(reader)?;
    let mut request = Request {
        method: method.to_string(),
        target: target.to_string(),
        keep_alive: false,
        headers,
    };
    let connection = request
        .header("connection")
        .unwrap_or_default()
        .to_ascii_lowercase();
    request.keep_alive = if version == "HTTP/1.0" {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    skip_body(reader, &request)?;
    Ok(Some(request))
}

fn read_headers(reader: &mut impl BufRead) -> io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    while let Some(line) = read_head_line(reader, false)? {
        if headers.len() == MAX_HEADERS {
            return Err(bad("too many headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("malformed header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(headers)
}

/// One line of a request head without its line ending; `None` at the blank
/// line that ends the head, or, for the first line, when the client is gone.
fn read_head_line(reader: &mut impl BufRead, first: bool) -> io::Result<Option<String>> {
    loop {
        let mut line = String::new();
        match reader.by_ref().take(MAX_LINE).read_line(&mut line) {
            Ok(0) if first => return Ok(None),
            Err(_) if first && line.is_empty() => return Ok(None),
            Ok(0) => return Err(bad("connection closed inside a request")),
            Err(e) => return Err(e),
            Ok(_) if !line.ends_with('\n') => return Err(bad("request line or header too long")),
            Ok(_) => {}
        }
        let line = line.trim_end_matches(['\r', '\n']);
        match (line.is_empty(), first) {
            // Blank lines before a request are allowed (RFC 9112, 2.2).
            (true, true) => continue,
            (true, false) => return Ok(None),
            (false, _) => return Ok(Some(line.to_string())),
        }
    }
}

/// Reads past a request body so the next request on the connection parses.
fn skip_body(reader: &mut impl BufRead, request: &Request) -> io::Result<()> {
    if request.header("transfer-encoding").is_some() {
        return Err(bad("chunked request bodies are not served"));
    }
    let length = match request.header("content-length") {
        Some(n) => n.parse::<u64>().map_err(|_| bad("bad Content-Length"))?,
        None => 0,
    };
    if length > MAX_BODY {
        return Err(bad("request body too large"));
    }
    let skipped = io::copy(&mut reader.by_ref().take(length), &mut io::sink())?;
    if skipped < length {
        return Err(bad("connection closed inside a request body"));
    }
    Ok(())
}

fn bad(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Writes the head for the whole body but only its first `send` bytes.
fn write_response(
    mut stream: &TcpStream,
    response: &Response,
    send: usize,
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        response.status,
        reason(response.status),
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body[..send])?;
    stream.flush()
}

/// The reason phrase for the statuses the sandbox sends.
pub(super) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// Makes closing the socket send a reset (SO_LINGER with a zero timeout)
/// instead of the orderly end of stream a client would take for a short answer.
#[cfg(unix)]
fn abort_on_close(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the descriptor is an open socket owned by `stream`, and the
    // option value is a `linger` of the size passed.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// Elsewhere the socket is simply closed.
#[cfg(not(unix))]
fn abort_on_close(_stream: &TcpStream) {}
