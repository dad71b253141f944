//! A small blocking HTTP/1.1 client for the venues' REST calls, off the hot
//! path: KIS's approval key and Kraken's WebSocket token, each once per
//! connection at most. One request per TCP connection (`Connection:
//! close`), TLS for `https` with verification on (Mozilla's roots), a 10 s
//! timeout. Hand-written rather than a crate (ureq) because it is this
//! small and the engine already carries rustls and its roots.

use std::io::{Read, Write};
use std::time::Duration;

/// `POST url` with `headers` and `body`: the status and the body (chunked
/// bodies joined). Errors name the host, never a header's value.
pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let uri: tungstenite::http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{url}: the scheme must be http or https")),
    };
    let host = uri.host().ok_or("no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let mut request = format!("POST {} HTTP/1.1\r\nHost: {host}\r\n", uri.path());
    for (name, value) in headers {
        request.push_str(name);
        request.push_str(": ");
        request.push_str(value);
        request.push_str("\r\n");
    }
    request.push_str(&format!(
        "User-Agent: orderwire\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut request = request.into_bytes();
    request.extend_from_slice(body);
    let timeout = Duration::from_secs(10);
    let address = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))?;
    let tcp = std::net::TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("{host}:{port}: {e}"))?;
    let _ = tcp.set_read_timeout(Some(timeout));
    let mut response = Vec::new();
    let exchanged = if secure {
        let tls = orderwire_engine::TlsConfig::webpki_roots().map_err(|e| e.to_string())?;
        let name =
            rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let connection =
            rustls::ClientConnection::new(tls.client_config(), name).map_err(|e| e.to_string())?;
        let mut stream = rustls::StreamOwned::new(connection, tcp);
        stream
            .write_all(&request)
            .and_then(|()| stream.read_to_end(&mut response))
    } else {
        let mut stream = tcp;
        stream
            .write_all(&request)
            .and_then(|()| stream.read_to_end(&mut response))
    };
    // A server that closes without close_notify still sent its answer.
    if let Err(error) = exchanged {
        if response.is_empty() {
            return Err(format!("{host}:{port}: {error}"));
        }
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("not an HTTP response")?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let mut body = response[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("no HTTP status")?;
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body).ok_or("a bad chunked body")?;
    }
    Ok((status, body))
}

/// A `Transfer-Encoding: chunked` body, joined.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = body.get(line_end + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}
