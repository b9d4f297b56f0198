//! Reading options in wire order: the borrowing iterator, option overload (RFC 2131 §4.1,
//! RFC 2132 §9.3) and the RFC 3396 lookup that joins every instance of one code.

use std::borrow::Cow;

use super::code;
use super::packet::{field, Packet};
use crate::{Error, Result};

/// One option instance as it appears on the wire: code and value, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawOption<'a> {
    /// The option code.
    pub code: u8,
    /// The option value (without code and length octets).
    pub data: &'a [u8],
}

/// Which area the iterator is reading: options field first, then `file`, then `sname`
/// (the order RFC 3396 §7 gives for joining split options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Options,
    File,
    Sname,
    Done,
}

/// `file` holds options (option overload value 1 or 3).
pub const OVERLOAD_FILE: u8 = 1;
/// `sname` holds options (option overload value 2 or 3).
pub const OVERLOAD_SNAME: u8 = 2;

/// Iterator over every option instance of a message, in wire order, duplicates kept.
///
/// Pad is skipped; end (or the end of the area) closes an area. An Option Overload (52) of
/// value 1, 2 or 3 found in the options field makes the iterator continue into `file` and/or
/// `sname`; an overload option with another length or value is yielded but not followed. A
/// truncated option yields `Err(Error::Truncated)` once, then the iterator is done.
/// It never allocates.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    buffer: &'a [u8],
    area: Area,
    /// The bytes of `area`, kept so each step does not look the area up again.
    bytes: &'a [u8],
    pos: usize,
    overload: u8,
}

impl<'a> Options<'a> {
    /// Iterates over the options of a whole DHCP message buffer (fixed header included).
    pub fn new(buffer: &'a [u8]) -> Options<'a> {
        let mut options = Options {
            buffer,
            area: Area::Options,
            bytes: &[],
            pos: 0,
            overload: 0,
        };
        options.bytes = options.area_bytes().unwrap_or(&[]);
        options
    }

    /// The overload value followed so far (0 when none has been seen yet).
    pub fn overload(&self) -> u8 {
        self.overload
    }

    fn area_bytes(&self) -> Option<&'a [u8]> {
        let buffer = self.buffer;
        match self.area {
            Area::Options => buffer.get(field::OPTIONS..),
            Area::File => buffer.get(field::FILE),
            Area::Sname => buffer.get(field::SNAME),
            Area::Done => None,
        }
    }

    fn next_area(&mut self) {
        self.pos = 0;
        self.area = match self.area {
            Area::Options if self.overload & OVERLOAD_FILE != 0 => Area::File,
            Area::Options | Area::File if self.overload & OVERLOAD_SNAME != 0 => Area::Sname,
            _ => Area::Done,
        };
        self.bytes = self.area_bytes().unwrap_or(&[]);
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<RawOption<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.area == Area::Done {
                return None;
            }
            let bytes = self.bytes;
            let code = match bytes.get(self.pos) {
                None | Some(&code::END) => {
                    self.next_area();
                    continue;
                }
                Some(&code::PAD) => {
                    self.pos = self.pos.saturating_add(1);
                    continue;
                }
                Some(&c) => c,
            };
            let value = self
                .pos
                .checked_add(1)
                .and_then(|i| bytes.get(i))
                .map(|&len| usize::from(len))
                .and_then(|len| {
                    let start = self.pos.checked_add(2)?;
                    let end = start.checked_add(len)?;
                    Some((bytes.get(start..end)?, end))
                });
            let Some((data, end)) = value else {
                self.area = Area::Done;
                return Some(Err(Error::Truncated));
            };
            self.pos = end;
            if self.area == Area::Options
                && code == code::OPTION_OVERLOAD
                && self.overload == 0
                && data.len() == 1
                && (1..=3).contains(&data[0])
            {
                self.overload = data[0];
            }
            return Some(Ok(RawOption { code, data }));
        }
    }
}

impl core::iter::FusedIterator for Options<'_> {}

/// Joins all instances of `code` (RFC 3396 §7): borrowed when there is one instance, allocated
/// (at most the message length) only when there are several. `Ok(None)` when absent; an error
/// when the options are malformed, since a join over a broken option list is not trustworthy.
pub fn concat<'a>(options: Options<'a>, code: u8) -> Result<Option<Cow<'a, [u8]>>> {
    let mut found: Option<Cow<'a, [u8]>> = None;
    for opt in options {
        let opt = opt?;
        if opt.code != code {
            continue;
        }
        found = Some(match found {
            None => Cow::Borrowed(opt.data),
            Some(prev) => {
                let mut joined = prev.into_owned();
                joined.extend_from_slice(opt.data);
                Cow::Owned(joined)
            }
        });
    }
    Ok(found)
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Every option instance in wire order (see [`Options`]).
    pub fn options(&self) -> Options<'_> {
        Options::new(self.as_bytes())
    }

    /// The value of option `code`, all instances joined per RFC 3396.
    pub fn option(&self, code: u8) -> Result<Option<Cow<'_, [u8]>>> {
        concat(self.options(), code)
    }

    /// The Option Overload value (52) in the options field that the iterator follows
    /// (1 file, 2 sname, 3 both), or 0.
    pub fn overload(&self) -> Result<u8> {
        let mut it = self.options();
        while let Some(opt) = it.next() {
            let opt = opt?;
            if opt.code == code::OPTION_OVERLOAD && it.overload() != 0 {
                return Ok(it.overload());
            }
            if it.area != Area::Options {
                break;
            }
        }
        Ok(it.overload())
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

    fn collect(b: &[u8]) -> Vec<Result<(u8, Vec<u8>)>> {
        Options::new(b)
            .map(|r| r.map(|o| (o.code, o.data.to_vec())))
            .collect()
    }

    #[test]
    fn wire_order_duplicates_pad_end() {
        let b = msg(&[
            0, 53, 1, 3, 0, 0, 12, 2, b'h', b'i', 12, 1, b'!', 255, 61, 1, 9,
        ]);
        assert_eq!(
            collect(&b),
            vec![
                Ok((53, vec![3])),
                Ok((12, b"hi".to_vec())),
                Ok((12, b"!".to_vec())),
            ]
        );
        let p = Packet::new_checked(&b[..]).unwrap();
        let host = p.option(12).unwrap().unwrap();
        assert_eq!(&*host, b"hi!");
        assert!(matches!(host, Cow::Owned(_)));
        let mt = p.option(53).unwrap().unwrap();
        assert!(matches!(mt, Cow::Borrowed(&[3])));
        // After the end option nothing is read: 61 is not there.
        assert_eq!(p.option(61).unwrap(), None);
    }

    #[test]
    fn missing_end_is_tolerated() {
        let b = msg(&[53, 1, 1]);
        assert_eq!(collect(&b), vec![Ok((53, vec![1]))]);
        assert!(collect(&msg(&[])).is_empty());
    }

    #[test]
    fn truncation_reported_once() {
        assert_eq!(
            collect(&msg(&[53, 1, 1, 12])),
            vec![Ok((53, vec![1])), Err(Error::Truncated)]
        );
        assert_eq!(collect(&msg(&[12, 5, 1, 2])), vec![Err(Error::Truncated)]);
        let b = msg(&[12, 5, 1, 2]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.option(53), Err(Error::Truncated));
    }

    #[test]
    fn overload_reads_file_then_sname() {
        let mut b = msg(&[53, 1, 5, 52, 1, 3, 12, 1, b'a', 255]);
        b[44..48].copy_from_slice(&[12, 1, b'c', 255]); // sname
        b[108..113].copy_from_slice(&[0, 12, 1, b'b', 255]); // file
        assert_eq!(
            collect(&b),
            vec![
                Ok((53, vec![5])),
                Ok((52, vec![3])),
                Ok((12, b"a".to_vec())),
                Ok((12, b"b".to_vec())),
                Ok((12, b"c".to_vec())),
            ]
        );
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(&*p.option(12).unwrap().unwrap(), b"abc");
        assert_eq!(p.overload().unwrap(), 3);
    }

    #[test]
    fn overload_one_or_two_only() {
        let mut b = msg(&[52, 1, 2, 255]);
        b[44..47].copy_from_slice(&[12, 1, b's']);
        b[108..111].copy_from_slice(&[12, 1, b'f']);
        assert_eq!(
            collect(&b),
            vec![Ok((52, vec![2])), Ok((12, b"s".to_vec()))]
        );
        b[242] = 1;
        assert_eq!(
            collect(&b),
            vec![Ok((52, vec![1])), Ok((12, b"f".to_vec()))]
        );
        // A value outside 1..=3 is yielded but not followed.
        b[242] = 4;
        assert_eq!(collect(&b), vec![Ok((52, vec![4]))]);
        // Overload inside file is not followed (RFC 2131 §4.1: only the options field).
        let mut c = msg(&[52, 1, 1]);
        c[108..111].copy_from_slice(&[52, 1, 2]);
        c[44..47].copy_from_slice(&[12, 1, b's']);
        assert_eq!(collect(&c), vec![Ok((52, vec![1])), Ok((52, vec![2]))]);
    }

    #[test]
    fn short_buffer_does_not_panic() {
        for n in 0..250 {
            let b = vec![1u8; n];
            let _ = collect(&b);
        }
    }
}
