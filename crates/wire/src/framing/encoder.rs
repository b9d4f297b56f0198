//! Frame headers for outgoing messages.

use super::{Dialect, MAX_MESSAGE_SIZE};
use crate::{Error, Result};

/// Writes frame headers for one stream's dialect.
///
/// It refuses what the peer's decoder would refuse (an empty message, one larger than the
/// configured maximum or than a 2-octet size can say), so a bad message fails here and not as
/// a broken stream at the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoder {
    dialect: Dialect,
    max_message_size: usize,
}

impl Encoder {
    /// An encoder for `dialect`; `max_message_size` is capped at [`MAX_MESSAGE_SIZE`].
    pub fn new(dialect: Dialect, max_message_size: usize) -> Self {
        Encoder {
            dialect,
            max_message_size: max_message_size.min(MAX_MESSAGE_SIZE),
        }
    }

    /// The dialect this encoder writes.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Octets of header in front of each message.
    pub fn header_len(&self) -> usize {
        self.dialect.header_len()
    }

    fn size_field(&self, message_len: usize) -> Result<[u8; 2]> {
        if message_len == 0 {
            return Err(Error::BadLength);
        }
        if message_len > self.max_message_size {
            return Err(Error::TooLarge);
        }
        let size = u16::try_from(message_len).map_err(|_| Error::TooLarge)?;
        Ok(size.to_be_bytes())
    }

    /// Writes the header for a message of `message_len` octets at the start of `out` and
    /// returns its length.
    ///
    /// For emitting a message in place: emit it at `out[header_len()..]`, then write the
    /// header in front of it, with no copy.
    pub fn write_header(&self, message_len: usize, out: &mut [u8]) -> Result<usize> {
        let size = self.size_field(message_len)?;
        let n = self.header_len();
        let header = out.get_mut(..n).ok_or(Error::BufferTooSmall)?;
        header[..2].copy_from_slice(&size);
        // The draft's unused octets: the sender zeroes them.
        header[2..].fill(0);
        Ok(n)
    }

    /// Writes header and message into `out` and returns the frame's length.
    pub fn encode_into(&self, message: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = self.header_len();
        self.size_field(message.len())?;
        let total = n + message.len();
        let frame = out.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        self.write_header(message.len(), frame)?;
        frame[n..].copy_from_slice(message);
        Ok(total)
    }

    /// Appends header and message to `out`; on error `out` is left as it was.
    pub fn encode_to_vec(&self, message: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut header = [0u8; super::MAX_HEADER_LEN];
        let n = self.write_header(message.len(), &mut header)?;
        out.reserve(n + message.len());
        out.extend_from_slice(&header[..n]);
        out.extend_from_slice(message);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::Decoder;

    #[test]
    fn headers_per_dialect() {
        let mut v = Vec::new();
        Encoder::new(Dialect::Draft, 1000)
            .encode_to_vec(&[1, 2, 3], &mut v)
            .unwrap();
        assert_eq!(v, [0, 3, 0, 0, 1, 2, 3]);
        for dialect in [Dialect::Rfc6926, Dialect::V6] {
            let mut v = vec![9];
            Encoder::new(dialect, 1000)
                .encode_to_vec(&[1, 2, 3], &mut v)
                .unwrap();
            assert_eq!(v, [9, 0, 3, 1, 2, 3]);
        }
    }

    #[test]
    fn draft_zeroes_unused_octets() {
        let mut out = [0xffu8; 4];
        let e = Encoder::new(Dialect::Draft, 1000);
        assert_eq!(e.write_header(0x0102, &mut out), Ok(4));
        assert_eq!(out, [1, 2, 0, 0]);
    }

    #[test]
    fn encode_into_slice() {
        let e = Encoder::new(Dialect::V6, 1000);
        let mut out = [0u8; 8];
        assert_eq!(e.encode_into(&[7; 5], &mut out), Ok(7));
        assert_eq!(out, [0, 5, 7, 7, 7, 7, 7, 0]);
        assert_eq!(e.encode_into(&[7; 7], &mut out), Err(Error::BufferTooSmall));
        assert_eq!(e.write_header(5, &mut out[..1]), Err(Error::BufferTooSmall));
    }

    #[test]
    fn in_place_emit() {
        let e = Encoder::new(Dialect::Draft, 1000);
        let mut out = [0u8; 16];
        let n = e.header_len();
        out[n..n + 3].copy_from_slice(b"abc");
        e.write_header(3, &mut out).unwrap();
        assert_eq!(&out[..n + 3], &[0, 3, 0, 0, b'a', b'b', b'c']);
    }

    #[test]
    fn refuses_what_a_decoder_would() {
        let e = Encoder::new(Dialect::Rfc6926, 10);
        let mut v = vec![1];
        assert_eq!(e.encode_to_vec(&[0; 11], &mut v), Err(Error::TooLarge));
        assert_eq!(e.encode_to_vec(&[], &mut v), Err(Error::BadLength));
        assert_eq!(v, [1], "unchanged on error");
        let e = Encoder::new(Dialect::V6, usize::MAX);
        assert_eq!(e.write_header(65_536, &mut [0; 4]), Err(Error::TooLarge));
        assert_eq!(e.write_header(65_535, &mut [0; 4]), Ok(2));
        let mut out = [0u8; 2];
        assert_eq!(
            e.encode_into(&vec![0; 65_536], &mut out),
            Err(Error::TooLarge)
        );
    }

    #[test]
    fn round_trip() {
        for dialect in [Dialect::Draft, Dialect::Rfc6926, Dialect::V6] {
            let mut v = Vec::new();
            let e = Encoder::new(dialect, 100);
            e.encode_to_vec(&[1, 2], &mut v).unwrap();
            e.encode_to_vec(&[1; 100], &mut v).unwrap();
            let mut d = Decoder::new(dialect, 100);
            let a = d.decode(&v).unwrap();
            assert_eq!(a.message, Some(&[1u8, 2][..]));
            let c = a.consumed;
            assert_eq!(d.decode(&v[c..]).unwrap().message, Some(&[1u8; 100][..]));
        }
    }
}
