//! The per-exchange singleton: create once, get anywhere.
//!
//! [`Registry::global`] is the process-wide instance; tests and programs that
//! run several engines make their own with [`Registry::new`]. Entries are
//! `Arc`s of any `Send + Sync` type (an [`crate::gateway::Exchange`] of any
//! venue), found by exchange id and type.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

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

/// Exchanges by id.
#[derive(Default)]
pub struct Registry {
    entries: RwLock<HashMap<String, Arc<dyn Any + Send + Sync>>>,
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

    /// The process-wide registry.
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
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
        T: Send + Sync + 'static,
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
        entries.insert(id.to_owned(), value.clone());
        Ok(value)
    }

    /// The exchange `id`, if it exists and is a `T`.
    pub fn get<T: Send + Sync + 'static>(&self, id: &str) -> Option<Arc<T>> {
        let entry = self.entries.read().get(id)?.clone();
        entry.downcast::<T>().ok()
    }

    /// Removes `id` and returns it, for the caller to shut down; others that
    /// still hold the `Arc` keep a working handle until they drop it.
    pub fn remove<T: Send + Sync + 'static>(&self, id: &str) -> Option<Arc<T>> {
        let mut entries = self.entries.write();
        let entry = entries.get(id)?.clone();
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
