//! The accept loop every socket mock shares: a non-blocking loopback
//! listener with its own certificate authority, one thread per connection,
//! rustls on top (or plain TCP for a `ws://` venue), until the mock stops.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use orderwire_testkit::TestPki;

/// A mock's listener on a free loopback port: its certificate authority
/// and its accept thread.
pub(super) struct Listening {
    port: u16,
    live: Arc<super::live::Live>,
    pki: TestPki,
    acceptor: Option<JoinHandle<()>>,
}

impl Listening {
    /// Binds, makes a certificate, and accepts as [`accept_tls`] does.
    pub(super) fn start(
        name: &str,
        live: &Arc<super::live::Live>,
        running: impl Fn() -> bool + Send + 'static,
        on_accept: impl Fn() + Send + 'static,
        serve: impl Fn(TlsStream, u64) + Send + Sync + 'static,
    ) -> std::io::Result<Listening> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let pki = TestPki::new();
        let acceptor = accept_tls(
            name,
            listener,
            pki.server.clone(),
            running,
            on_accept,
            serve,
        )?;
        Ok(Listening {
            port,
            live: live.clone(),
            pki,
            acceptor: Some(acceptor),
        })
    }

    /// Binds and accepts plain TCP (a venue served over `ws://`, as KIS
    /// is): no TLS; the certificate authority is still made, unused.
    pub(super) fn start_plain(
        name: &str,
        live: &Arc<super::live::Live>,
        running: impl Fn() -> bool + Send + 'static,
        on_accept: impl Fn() + Send + 'static,
        serve: impl Fn(TcpStream, u64) + Send + Sync + 'static,
    ) -> std::io::Result<Listening> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let acceptor = accept_with(name, listener, running, on_accept, move |stream, id| {
            serve(stream, id)
        })?;
        Ok(Listening {
            port,
            live: live.clone(),
            pki: TestPki::new(),
            acceptor: Some(acceptor),
        })
    }

    /// `wss://localhost:<port><path>`.
    pub(super) fn url(&self, path: &str) -> String {
        format!("wss://localhost:{}{path}", self.port)
    }

    /// `ws://127.0.0.1:<port><path>`, for a plain listener.
    pub(super) fn plain_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// The CA that signed the mock's certificate.
    pub(super) fn ca_file(&self) -> PathBuf {
        self.pki.ca_file.clone()
    }

    /// Sets the mock's `stop` flag (its sessions and the accept loop end),
    /// wakes its connections, and waits for the accept loop.
    pub(super) fn stop(&mut self, stop: &AtomicBool) {
        stop.store(true, Ordering::Relaxed);
        // Connections asleep in their readiness wait see the stop now.
        self.live.wake_all();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// The wall clock now (ns since the epoch): a socket mock's clock zero.
pub(super) fn wall_now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

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
    accept_with(name, listener, running, on_accept, move |stream, id| {
        let Ok(session) = rustls::ServerConnection::new(tls.clone()) else {
            return;
        };
        serve(rustls::StreamOwned::new(session, stream), id);
    })
}

/// The accept loop itself: each connection to `serve` on a thread of its
/// own, TCP as accepted.
fn accept_with(
    name: &str,
    listener: TcpListener,
    running: impl Fn() -> bool + Send + 'static,
    on_accept: impl Fn() + Send + 'static,
    serve: impl Fn(TcpStream, u64) + Send + Sync + 'static,
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
                let _ = std::thread::Builder::new()
                    .name(format!("{thread_name}-{id}"))
                    .spawn(move || serve(stream, id));
            }
        })
}
