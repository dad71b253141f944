//! A mock's REST side: one plain-HTTP/1.1 request per connection on
//! loopback, answered by the venue's handler (KIS's approval key, Kraken's
//! WebSocket token). Off the hot path; blocking.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as the handler sees it.
pub(crate) struct HttpRequest {
    /// `POST /0/private/GetWebSocketsToken HTTP/1.1`.
    pub(crate) request_line: String,
    /// Header lines, names lower-cased, values as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl HttpRequest {
    /// Whether it is `POST <path>`.
    pub(crate) fn is_post(&self, path: &str) -> bool {
        self.request_line
            .strip_prefix("POST ")
            .and_then(|rest| rest.split(' ').next())
            == Some(path)
    }

    /// A header's value (name in lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves `handler` on `127.0.0.1:<port>` until `keep_running` says no:
/// the port and the thread.
pub(crate) fn serve(
    name: &str,
    keep_running: impl Fn() -> bool + Send + 'static,
    handler: impl Fn(&HttpRequest) -> (&'static str, String) + Send + 'static,
) -> std::io::Result<(u16, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            while keep_running() {
                match listener.accept() {
                    Ok((stream, _)) => answer(stream, &handler),
                    // Nonblocking accept: a short wait, so a stop is seen.
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        })?;
    Ok((port, thread))
}

fn answer(mut stream: TcpStream, handler: &impl Fn(&HttpRequest) -> (&'static str, String)) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let (status, body) = handler(&request);
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Reads one request: head, then `Content-Length` bytes of body. None on
/// a bad or incomplete request (the connection just closes).
fn read_request(stream: &mut TcpStream) -> Option<HttpRequest> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&chunk[..n]);
        let Some(split) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&request[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, value)| value.parse::<usize>().ok())
            .unwrap_or(0);
        let end = (split + 4).checked_add(length)?;
        if request.len() >= end {
            return Some(HttpRequest {
                request_line,
                headers,
                body: request[split + 4..end].to_vec(),
            });
        }
    }
}
