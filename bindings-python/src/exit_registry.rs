//! Objects to close at interpreter exit (T8 final flush, L4 drain), held
//! weakly so the registry never keeps one alive. The facade registers each
//! registry's close-all function with `atexit`.

use crate::errors::blocking;
use parking_lot::Mutex;
use pyo3::prelude::*;
use std::sync::{Arc, Weak};

pub struct ExitRegistry<T>(Mutex<Vec<Weak<T>>>);

impl<T: Send + Sync> ExitRegistry<T> {
    pub const fn new() -> Self {
        ExitRegistry(Mutex::new(Vec::new()))
    }

    pub fn register(&self, t: &Arc<T>) {
        let mut open = self.0.lock();
        open.retain(|w| w.strong_count() > 0);
        open.push(Arc::downgrade(t));
    }

    /// Closes every object still alive, with the GIL released; reports the
    /// first error after trying them all.
    pub fn close_all(
        &self,
        py: Python<'_>,
        close: impl Fn(&T) -> usagebook_core::Result<()> + Sync,
    ) -> PyResult<()> {
        let open: Vec<Arc<T>> = self
            .0
            .lock()
            .drain(..)
            .filter_map(|w| w.upgrade())
            .collect();
        let mut first_err = None;
        for t in open {
            if let Err(e) = blocking(py, || close(&t)) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
