//! What the engines gleaned since an on-demand lookup thread last looked: the bindings seen
//! bound, which make the lookups' cached negative answers about them stale. Bounded: past
//! [`MAX_GLEANS`] the list is dropped and the taker told to forget every cached answer.

/// Most gleaned bindings kept between two looks of a lookup thread (a tick, 200 ms);
/// past it the thread forgets every cached answer instead (a re-ask costs one query).
pub const MAX_GLEANS: usize = 65_536;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Gleans<B> {
    bound: Vec<B>,
    overflowed: bool,
}

impl<B> Default for Gleans<B> {
    fn default() -> Self {
        Gleans {
            bound: Vec::new(),
            overflowed: false,
        }
    }
}

impl<B> Gleans<B> {
    pub fn push(&mut self, bound: B) {
        if self.bound.len() >= MAX_GLEANS {
            self.bound.clear();
            self.overflowed = true;
        } else if !self.overflowed {
            self.bound.push(bound);
        }
    }

    /// The bindings gleaned since the last call, or `None` when there were too many to keep.
    pub fn take(&mut self) -> Option<Vec<B>> {
        let overflowed = std::mem::take(&mut self.overflowed);
        let bound = std::mem::take(&mut self.bound);
        (!overflowed).then_some(bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gleans_are_taken_once_and_overflow_asks_to_forget_everything() {
        let mut g = Gleans::default();
        g.push(1u32);
        g.push(2);
        assert_eq!(g.take(), Some(vec![1, 2]));
        assert_eq!(g.take(), Some(vec![]));
        for i in 0..=MAX_GLEANS as u32 {
            g.push(i);
        }
        g.push(7);
        assert_eq!(g.take(), None, "too many to tell one by one");
        g.push(3);
        assert_eq!(g.take(), Some(vec![3]), "a fresh start after the overflow");
    }
}
