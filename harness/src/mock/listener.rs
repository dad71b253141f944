//! The accept loop both mocks share: a non-blocking loopback listener, one
//! thread per connection, rustls on top, until the mock stops.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The TLS stream a mock connection is served over.
pub(super) type TlsStream = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

/// Accepts on `listener` while `running()`, and serves each connection
/// with `serve(stream, connection number)` on a thread of its own named
/// `<name>-<n>`; `on_accept` runs first, on the accepting thread.
pub(super) fn accept_tls(
    name: &str,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    running: impl Fn() -> bool + Send + 'static,
    on_accept: impl Fn() + Send + 'static,
    serve: impl Fn(TlsStream, u64) + Send + Sync + 'static,
) -> std::io::Result<JoinHandle<()>> {
    listener.set_nonblocking(true)?;
    let serve = Arc::new(serve);
    let thread_name = name.to_owned();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut next_id = 1;
            while running() {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let id = next_id;
                next_id += 1;
                on_accept();
                let serve = serve.clone();
                let tls = tls.clone();
                let _ = std::thread::Builder::new()
                    .name(format!("{thread_name}-{id}"))
                    .spawn(move || {
                        let Ok(session) = rustls::ServerConnection::new(tls) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(session, stream), id);
                    });
            }
        })
}
