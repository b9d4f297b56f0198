//! Several optional byte strings kept in one heap allocation.
//!
//! A binding carries up to seven variable-length values (client-id, option 82 and three of its
//! sub-options, vendor class, hostname). Seven `Option<Box<[u8]>>` would cost 7 x 16 octets inline
//! plus up to seven allocations; here they cost 2 octets of length each plus one allocation.

use crate::error::StoreError;

/// Length marking an absent value.
const ABSENT: u16 = u16::MAX;

/// The longest value kept, in octets.
pub const MAX_FIELD_LEN: usize = (u16::MAX - 1) as usize;

/// `N` optional byte strings, concatenated in one boxed slice.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Packed<const N: usize> {
    lens: [u16; N],
    data: Box<[u8]>,
}

impl<const N: usize> Default for Packed<N> {
    fn default() -> Self {
        Packed {
            lens: [ABSENT; N],
            data: Box::default(),
        }
    }
}

impl<const N: usize> Packed<N> {
    fn len_of(&self, i: usize) -> usize {
        match self.lens[i] {
            ABSENT => 0,
            n => n as usize,
        }
    }

    fn offset(&self, i: usize) -> usize {
        (0..i).map(|j| self.len_of(j)).sum()
    }

    /// Value `i`, if present.
    pub(crate) fn get(&self, i: usize) -> Option<&[u8]> {
        if self.lens[i] == ABSENT {
            return None;
        }
        let start = self.offset(i);
        self.data.get(start..start + self.len_of(i))
    }

    /// Replaces value `i` (rebuilds the allocation).
    pub(crate) fn set(
        &mut self,
        i: usize,
        value: Option<&[u8]>,
        field: &'static str,
    ) -> Result<(), StoreError> {
        if let Some(v) = value {
            if v.len() > MAX_FIELD_LEN {
                return Err(StoreError::FieldTooLong {
                    field,
                    len: v.len(),
                });
            }
        }
        let start = self.offset(i);
        let old_len = self.len_of(i);
        let new = value.unwrap_or(&[]);
        let mut data = Vec::with_capacity(self.data.len() - old_len + new.len());
        data.extend_from_slice(&self.data[..start]);
        data.extend_from_slice(new);
        data.extend_from_slice(&self.data[start + old_len..]);
        self.data = data.into_boxed_slice();
        self.lens[i] = match value {
            Some(v) => v.len() as u16,
            None => ABSENT,
        };
        Ok(())
    }

    /// All values at once, in one allocation.
    pub(crate) fn from_values(
        values: [Option<&[u8]>; N],
        names: [&'static str; N],
    ) -> Result<Self, StoreError> {
        let mut lens = [ABSENT; N];
        let mut total = 0;
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                if v.len() > MAX_FIELD_LEN {
                    return Err(StoreError::FieldTooLong {
                        field: names[i],
                        len: v.len(),
                    });
                }
                lens[i] = v.len() as u16;
                total += v.len();
            }
        }
        let mut data = Vec::with_capacity(total);
        for v in values.iter().flatten() {
            data.extend_from_slice(v);
        }
        Ok(Packed {
            lens,
            data: data.into_boxed_slice(),
        })
    }

    /// Octets on the heap.
    pub(crate) fn heap_len(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_replace_remove() {
        let mut p = Packed::<3>::default();
        assert_eq!(p.get(0), None);
        p.set(1, Some(b"bb"), "b").unwrap();
        p.set(0, Some(b"a"), "a").unwrap();
        p.set(2, Some(b""), "c").unwrap();
        assert_eq!(p.get(0), Some(&b"a"[..]));
        assert_eq!(p.get(1), Some(&b"bb"[..]));
        assert_eq!(p.get(2), Some(&b""[..]));
        p.set(0, Some(b"xyz"), "a").unwrap();
        assert_eq!(p.get(1), Some(&b"bb"[..]));
        p.set(1, None, "b").unwrap();
        assert_eq!(p.get(1), None);
        assert_eq!(p.get(0), Some(&b"xyz"[..]));
        assert_eq!(p.heap_len(), 3);
        let q = Packed::<3>::from_values([Some(b"xyz"), None, Some(b"")], ["a", "b", "c"]).unwrap();
        assert!(q == p);
        let long = vec![0u8; MAX_FIELD_LEN + 1];
        assert!(p.set(0, Some(&long), "a").is_err());
        assert_eq!(p.get(0), Some(&b"xyz"[..]));
    }
}
