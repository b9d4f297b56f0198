//! Bounds-checked reading of option bodies and writing of messages.
//!
//! Every length calculation of the codec goes through here, so the rest of the module has no
//! slicing or arithmetic that could panic on hostile input.

use std::net::Ipv6Addr;

use crate::{Error, Result};

/// Reads fixed fields from the front of an option body.
///
/// Running out of bytes is [`Error::BadLength`]: the enclosing option's length is what lied.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.data.len() {
            return Err(Error::BadLength);
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn ipv6(&mut self) -> Result<Ipv6Addr> {
        Ok(Ipv6Addr::from(self.array::<16>()?))
    }

    /// Everything not read yet.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.data
    }

    /// Fails with [`Error::BadLength`] unless everything was read (fixed-length options).
    pub(crate) fn finish(self) -> Result<()> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(Error::BadLength)
        }
    }
}

/// Appends to an output buffer; running out of room is [`Error::BufferTooSmall`].
///
/// Public so that a sender can emit a message straight into its datagram, option by option,
/// without building the [`super::Repr`] first (the leasequery responder's replies): the same
/// bounds checks and length patching as [`super::Repr::emit`], whose bytes it then matches.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A writer that fills `buf` from its start.
    #[inline]
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Octets written so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing was written yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Appends `bytes`.
    #[inline]
    pub fn bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self
            .pos
            .checked_add(bytes.len())
            .ok_or(Error::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.pos = end;
        Ok(())
    }

    /// Appends one octet.
    #[inline]
    pub fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }

    /// Appends a 16-bit field, network order.
    #[inline]
    pub fn u16(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// Appends a 32-bit field, network order.
    #[inline]
    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// Appends an IPv6 address.
    #[inline]
    pub fn ipv6(&mut self, v: &Ipv6Addr) -> Result<()> {
        self.bytes(&v.octets())
    }

    /// Writes one option: code, a length patched in afterwards, and the body `body` writes.
    ///
    /// A body longer than 65535 octets cannot be expressed in option-len: [`Error::TooLarge`].
    pub fn option(&mut self, code: u16, body: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        self.u16(code)?;
        let len_at = self.pos;
        self.u16(0)?;
        body(self)?;
        let body_len = self.pos.checked_sub(len_at + 2).ok_or(Error::BadLength)?;
        let len = u16::try_from(body_len).map_err(|_| Error::TooLarge)?;
        let dst = self
            .buf
            .get_mut(len_at..len_at + 2)
            .ok_or(Error::BufferTooSmall)?;
        dst.copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_short_is_bad_length() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u16(), Err(Error::BadLength));
        assert_eq!(r.u8(), Ok(3));
        assert!(r.finish().is_ok());
    }

    #[test]
    fn writer_patches_length_and_reports_short_buffer() {
        let mut buf = [0u8; 7];
        let mut w = Writer::new(&mut buf);
        w.option(0x0102, |w| w.bytes(&[9, 9, 9])).unwrap();
        assert_eq!(w.len(), 7);
        assert_eq!(buf, [1, 2, 0, 3, 9, 9, 9]);

        let mut small = [0u8; 6];
        let mut w = Writer::new(&mut small);
        assert_eq!(
            w.option(1, |w| w.bytes(&[9, 9, 9])),
            Err(Error::BufferTooSmall)
        );
    }

    #[test]
    fn writer_rejects_oversized_option() {
        let mut buf = vec![0u8; 70_000];
        let mut w = Writer::new(&mut buf);
        let body = vec![0u8; 65_536];
        assert_eq!(w.option(1, |w| w.bytes(&body)), Err(Error::TooLarge));
    }
}
