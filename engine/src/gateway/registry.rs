//! The per-exchange singleton: create once, get anywhere.
//!
//! [`Registry::global`] is the process-wide instance; tests and programs that
//! run several engines make their own with [`Registry::new`]. Entries are
//! `Arc`s of any `Send + Sync` type (an [`crate::gateway::Exchange`] of any
//! venue), found by exchange id and type.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use std::time::Duration;

use parking_lot::RwLock;

use super::handle::{ExchangeHandle, Registrable};

/// Closes what is left in the global registry when the main thread's
/// thread-locals are destroyed: at process exit.
struct ShutdownAtExit;

impl Drop for ShutdownAtExit {
    fn drop(&mut self) {
        if let Some(registry) = GLOBAL_REGISTRY.get() {
            registry.shutdown_all(Duration::from_millis(200));
        }
    }
}

thread_local! {
    static AT_EXIT: ShutdownAtExit = const { ShutdownAtExit };
}

/// Why a registry call failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// `create` for an id that already exists.
    #[error("exchange {0:?} already exists")]
    AlreadyExists(String),
    /// The builder failed.
    #[error("creating exchange {id:?}: {error}")]
    Build {
        /// The id.
        id: String,
        /// The builder's error, kept whole (`source()` reaches it).
        #[source]
        error: Arc<dyn std::error::Error + Send + Sync>,
    },
}

static GLOBAL_REGISTRY: OnceLock<Registry> = OnceLock::new();

/// One registered value, and its typeless handle where it is an exchange.
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    handle: Option<Arc<dyn ExchangeHandle>>,
}

/// Exchanges by id.
#[derive(Default)]
pub struct Registry {
    entries: RwLock<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.entries.read().keys().cloned().collect();
        f.debug_struct("Registry").field("ids", &ids).finish()
    }
}

impl Registry {
    /// An empty, isolated registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The process-wide registry. Exchanges still in it when the process
    /// exits close their connections cleanly (a close handshake, up to
    /// 200 ms): the main thread's first use sets a guard whose destructor
    /// runs at exit (Linux with glibc runs the main thread's thread-local
    /// destructors there; elsewhere call [`Registry::shutdown_all`]).
    pub fn global() -> &'static Registry {
        if std::thread::current().name() == Some("main") {
            AT_EXIT.with(|_| {});
        }
        GLOBAL_REGISTRY.get_or_init(Registry::new)
    }

    /// Builds and registers the exchange `id`. The write lock is held while
    /// `build` runs, so two threads racing to create the same id get one
    /// exchange and one `AlreadyExists`.
    pub fn create<T, E>(
        &self,
        id: &str,
        build: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, RegistryError>
    where
        T: Registrable,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut entries = self.entries.write();
        if entries.contains_key(id) {
            return Err(RegistryError::AlreadyExists(id.to_owned()));
        }
        let value = Arc::new(build().map_err(|error| RegistryError::Build {
            id: id.to_owned(),
            error: Arc::from(error.into()),
        })?);
        let handle = value.clone().exchange_handle();
        entries.insert(
            id.to_owned(),
            Entry {
                value: value.clone(),
                handle,
            },
        );
        Ok(value)
    }

    /// The exchange `id`, whatever its venue and driver: place, amend,
    /// cancel, wait and poll without naming its type.
    pub fn exchange(&self, id: &str) -> Option<Arc<dyn ExchangeHandle>> {
        self.entries.read().get(id)?.handle.clone()
    }

    /// Takes every exchange out and closes its connection (a close
    /// handshake, waiting up to `grace` each).
    pub fn shutdown_all(&self, grace: Duration) {
        let entries: Vec<Entry> = self.entries.write().drain().map(|(_, e)| e).collect();
        for entry in entries {
            if let Some(handle) = entry.handle {
                handle.shutdown(grace);
            }
        }
    }

    /// The exchange `id`, if it exists and is a `T`.
    pub fn get<T: Send + Sync + 'static>(&self, id: &str) -> Option<Arc<T>> {
        let entry = self.entries.read().get(id)?.value.clone();
        entry.downcast::<T>().ok()
    }

    /// Removes `id` and returns it, for the caller to shut down; others that
    /// still hold the `Arc` keep a working handle until they drop it.
    pub fn remove<T: Send + Sync + 'static>(&self, id: &str) -> Option<Arc<T>> {
        let mut entries = self.entries.write();
        let entry = entries.get(id)?.value.clone();
        let typed = entry.downcast::<T>().ok()?;
        entries.remove(id);
        Some(typed)
    }

    /// The ids registered.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.entries.read().keys().cloned().collect();
        ids.sort();
        ids
    }
}
