//! A one-pass index of a message's options, so that a responder reading several options pays for
//! one walk over the options, not one per option.
//!
//! Every typed accessor of [`Packet`] must see all instances of its code (RFC 3396 joins them), so
//! each one walks every option area. [`Packet::index`] walks them once and records where each
//! code first appears and which codes appear more than once; a lookup is then a table read, and
//! only a split option (rare) walks again to join its parts. Building the index allocates nothing.
//! (A short list of the codes present was tried instead of the 256-entry table: searching it cost
//! more than the table's 512 octets to clear.)

use std::borrow::Cow;

use super::options::{concat, Options};
use super::packet::Packet;
use crate::{Error, Result};

/// Where each option code is, for one message (see the module docs).
#[derive(Clone)]
pub struct OptionIndex<'a> {
    buffer: &'a [u8],
    /// Per code: offset in `buffer` of the first instance's value (its length octet is the one
    /// before it); 0 = absent, as an option value never starts at offset 0.
    first: [u16; 256],
    /// Codes seen more than once: their value is the join of all instances.
    split: [u64; 4],
}

impl core::fmt::Debug for OptionIndex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OptionIndex")
            .field("codes", &self.codes().collect::<Vec<_>>())
            .finish()
    }
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Walks every option area once (following option overload) and indexes the options.
    /// A truncated option is an error here, once, instead of on every later lookup.
    #[inline]
    pub fn index(&self) -> Result<OptionIndex<'_>> {
        let buffer = self.as_bytes();
        let base = buffer.as_ptr() as usize;
        let mut first = [0u16; 256];
        let mut split = [0u64; 4];
        for option in self.options() {
            let option = option?;
            let code = usize::from(option.code);
            if first[code] != 0 {
                split[code / 64] |= 1 << (code % 64);
                continue;
            }
            // `data` is a sub-slice of `buffer`, so this never underflows; a value past 64 KiB
            // (beyond any UDP datagram or bulk leasequery frame) cannot be indexed.
            let offset = (option.data.as_ptr() as usize).wrapping_sub(base);
            first[code] = u16::try_from(offset).map_err(|_| Error::TooLarge)?;
        }
        Ok(OptionIndex {
            buffer,
            first,
            split,
        })
    }
}

impl<'a> OptionIndex<'a> {
    /// The value of option `code`, all instances joined per RFC 3396 (allocating only for an
    /// option that was split into several instances).
    #[inline]
    pub fn option(&self, code: u8) -> Result<Option<Cow<'a, [u8]>>> {
        let entry = self.first[usize::from(code)];
        if entry == 0 {
            return Ok(None);
        }
        if self.is_split(code) {
            return concat(Options::new(self.buffer), code);
        }
        let offset = usize::from(entry);
        // The index was built from this buffer: the length octet and the value are inside it.
        let len = usize::from(self.buffer.get(offset - 1).copied().unwrap_or(0));
        Ok(self.buffer.get(offset..offset + len).map(Cow::Borrowed))
    }

    /// Whether option `code` is present.
    pub fn contains(&self, code: u8) -> bool {
        self.first[usize::from(code)] != 0
    }

    /// Whether option `code` appears in several instances (RFC 3396).
    pub fn is_split(&self, code: u8) -> bool {
        let code = usize::from(code);
        self.split[code / 64] & (1 << (code % 64)) != 0
    }

    /// The codes present, ascending.
    pub fn codes(&self) -> impl Iterator<Item = u8> + '_ {
        (0..=255u8).filter(|&c| self.contains(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4::packet::MAGIC_COOKIE;

    fn msg(options: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[236..240].copy_from_slice(&MAGIC_COOKIE);
        b.extend_from_slice(options);
        b
    }

    #[test]
    fn lookups_agree_with_the_scanning_view() {
        let b = msg(&[
            53, 1, 10, 12, 0, 82, 2, 1, 3, 61, 2, 1, 2, 82, 3, b'a', b'b', b'c', 255,
        ]);
        let p = Packet::new_checked(&b[..]).unwrap();
        let index = p.index().unwrap();
        for code in 0..=255u8 {
            assert_eq!(index.option(code), p.option(code), "code {code}");
        }
        assert!(index.is_split(82) && !index.is_split(53));
        assert_eq!(index.codes().collect::<Vec<_>>(), vec![12, 53, 61, 82]);
        assert_eq!(index.option(12).unwrap().as_deref(), Some(&[][..]));
        assert_eq!(
            index
                .relay_agent_information()
                .unwrap()
                .unwrap()
                .circuit_id()
                .unwrap(),
            Some(&b"abc"[..])
        );
    }

    #[test]
    fn follows_overload_into_file_and_sname() {
        let mut b = msg(&[53, 1, 5, 52, 1, 3, 255]);
        b[108] = 51; // file
        b[109] = 4;
        b[110..114].copy_from_slice(&[0, 0, 14, 16]);
        b[114] = 255;
        b[44] = 12; // sname
        b[45] = 1;
        b[46] = b'h';
        b[47] = 255;
        let p = Packet::new_checked(&b[..]).unwrap();
        let index = p.index().unwrap();
        assert_eq!(index.lease_time().unwrap(), Some(3600));
        assert_eq!(index.hostname().unwrap().as_deref(), Some(&b"h"[..]));
    }

    #[test]
    fn many_distinct_codes_and_a_split_one() {
        let mut options = Vec::new();
        for code in 100..140u8 {
            options.extend_from_slice(&[code, 1, code]);
        }
        options.extend_from_slice(&[100, 1, 0xff, 255]); // a split instance of the first code
        let b = msg(&options);
        let p = Packet::new_checked(&b[..]).unwrap();
        let index = p.index().unwrap();
        for code in 0..=255u8 {
            assert_eq!(index.option(code), p.option(code), "code {code}");
            assert_eq!(
                index.contains(code),
                p.option(code).unwrap().is_some(),
                "code {code}"
            );
        }
    }

    #[test]
    fn a_truncated_option_fails_the_index() {
        let b = msg(&[53, 1, 10, 82, 9, 1]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.index().unwrap_err(), Error::Truncated);
    }
}
