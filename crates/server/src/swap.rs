//! [`Swap`]: what a reload replaces while the receive threads use it. A receive thread takes
//! the current value once per batch of datagrams (a read lock held for an `Arc` clone, no
//! allocation), so a reload never waits for a batch, a batch never sees two configurations,
//! and the value a batch (or a bulk connection) holds stays alive until it is done with it.

use std::sync::{Arc, RwLock};

/// A value replaced whole by a reload.
#[derive(Debug)]
pub struct Swap<T>(RwLock<Arc<T>>);

impl<T> Swap<T> {
    pub fn new(value: T) -> Swap<T> {
        Swap(RwLock::new(Arc::new(value)))
    }

    /// The current value.
    pub fn load(&self) -> Arc<T> {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Makes `value` the current one; who holds the previous one keeps it until done.
    pub fn store(&self, value: T) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(value);
    }
}

#[cfg(test)]
mod tests {
    use super::Swap;

    #[test]
    fn a_held_value_outlives_its_replacement() {
        let swap = Swap::new(1);
        let held = swap.load();
        swap.store(2);
        assert_eq!(*held, 1);
        assert_eq!(*swap.load(), 2);
    }
}
