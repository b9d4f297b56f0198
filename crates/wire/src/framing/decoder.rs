//! Streaming, sans-IO frame decoder.

use super::{detect_v4, Dialect, DETECT_LEN, MAX_HEADER_LEN, MAX_MESSAGE_SIZE};
use crate::{Error, Result};

/// What one call to [`Decoder::decode`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Octets of the input taken; the caller passes the rest on the next call.
    pub consumed: usize,
    /// A complete message payload (without frame header), if one was completed.
    ///
    /// It borrows from the input when the whole frame was in it (no copy), otherwise from the
    /// decoder's buffer; either way it is valid until the next call.
    pub message: Option<&'a [u8]>,
}

/// Splits a bulk leasequery TCP byte stream into messages.
///
/// Feed it whatever a read returned; it never needs more input than one frame and never holds
/// more than one frame's payload (at most the configured maximum) plus a header, whatever the
/// peer sends. A frame that announces more than the maximum is refused as soon as its size is
/// read, before any of it is buffered. Any error is final: the stream has lost sync and the
/// connection is to be closed, so later calls return the same error.
///
/// Typical use in the I/O layer:
///
/// ```
/// # use lessor_wire::framing::{Decoder, Dialect};
/// let mut decoder = Decoder::detect_v4(1500);
/// let read: &[u8] = &[0, 3, 1, 2, 3, 0, 1]; // one frame and the start of the next
/// let mut input = read;
/// let mut messages = Vec::new();
/// while !input.is_empty() {
///     let step = decoder.decode(input)?;
///     input = &input[step.consumed..];
///     if let Some(message) = step.message {
///         messages.push(message.to_vec());
///     }
/// }
/// assert_eq!(messages, [vec![1, 2, 3]]);
/// assert_eq!(decoder.dialect(), Some(Dialect::Rfc6926));
/// assert!(decoder.is_mid_frame());
/// // At EOF now, the peer cut a frame short:
/// assert!(decoder.finish().is_err());
/// # Ok::<(), lessor_wire::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    /// `None` while a DHCPv4 stream's dialect is still being detected.
    dialect: Option<Dialect>,
    max_message_size: usize,
    header: [u8; MAX_HEADER_LEN],
    header_len: usize,
    /// Payload size of the current frame, once its header is complete.
    expected: Option<usize>,
    /// Partial payload of the current frame (only when it arrived in pieces).
    payload: Vec<u8>,
    /// The last call returned a message out of `payload`; clear it on the next call.
    yielded: bool,
    failed: Option<Error>,
}

impl Decoder {
    /// A decoder for a stream whose dialect is known (always the case for DHCPv6).
    ///
    /// `max_message_size` is capped at [`MAX_MESSAGE_SIZE`], the most a header can announce.
    pub fn new(dialect: Dialect, max_message_size: usize) -> Self {
        Self::with(Some(dialect), max_message_size)
    }

    /// A decoder for a DHCPv4 bulk leasequery connection that detects the dialect from its
    /// first frame (see [`super::detect_v4`]).
    ///
    /// For the server side only: detection relies on the first message being a query
    /// (op = BOOTREQUEST). A requestor reading replies knows the dialect it spoke and uses
    /// [`Decoder::new`].
    pub fn detect_v4(max_message_size: usize) -> Self {
        Self::with(None, max_message_size)
    }

    fn with(dialect: Option<Dialect>, max_message_size: usize) -> Self {
        Decoder {
            dialect,
            max_message_size: max_message_size.min(MAX_MESSAGE_SIZE),
            header: [0; MAX_HEADER_LEN],
            header_len: 0,
            expected: None,
            payload: Vec::new(),
            yielded: false,
            failed: None,
        }
    }

    /// The stream's dialect: known from the start, or once detection has seen enough octets.
    pub fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    /// The largest message this decoder accepts.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The error that ended this stream, if any.
    pub fn error(&self) -> Option<Error> {
        self.failed
    }

    /// Whether part of a frame has been received but not its end.
    ///
    /// EOF is clean only when this is false (see [`Decoder::finish`]).
    pub fn is_mid_frame(&self) -> bool {
        !self.yielded && (self.header_len > 0 || self.expected.is_some())
    }

    /// Octets still needed to finish the current header or payload (0 once failed).
    ///
    /// Reading at most this many never reads past the current frame, which lets an I/O layer
    /// read exactly one message at a time if it wants to.
    pub fn wants(&self) -> usize {
        if self.failed.is_some() {
            return 0;
        }
        if self.yielded {
            return self.header_need();
        }
        match self.expected {
            Some(len) => len - self.payload.len(),
            None => self.header_need() - self.header_len,
        }
    }

    /// Header octets needed before the payload size and dialect are both known. While
    /// detecting it is [`DETECT_LEN`]; the third octet belongs to the header only in the draft
    /// dialect, and otherwise to the payload (it is the message's `op`), so it is never past
    /// the current frame.
    fn header_need(&self) -> usize {
        self.dialect.map_or(DETECT_LEN, Dialect::header_len)
    }

    /// Tells the decoder the peer closed the stream: an error if a frame was cut short.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.is_mid_frame() {
            return Err(self.fail(Error::Truncated));
        }
        Ok(())
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e);
        // Nothing buffered is of use any more: give the memory back.
        self.payload = Vec::new();
        e
    }

    fn reset_frame(&mut self) {
        self.header_len = 0;
        self.expected = None;
        self.payload.clear();
        self.yielded = false;
    }

    /// Takes octets from `input` until one message is complete or the input runs out.
    ///
    /// Call it again with `&input[consumed..]` until the input is used up: one call yields at
    /// most one message, so that it can borrow from the input without copying.
    pub fn decode<'a>(&'a mut self, input: &'a [u8]) -> Result<Decoded<'a>> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.yielded {
            self.reset_frame();
        }
        let mut consumed = 0;
        let len = loop {
            if let Some(len) = self.expected {
                break len;
            }
            let Some(&octet) = input.get(consumed) else {
                return Ok(Decoded {
                    consumed,
                    message: None,
                });
            };
            self.header[self.header_len] = octet;
            self.header_len += 1;
            consumed += 1;
            if let Err(e) = self.header_step() {
                return Err(self.fail(e));
            }
            let Some(need) = self.dialect.map(Dialect::header_len) else {
                continue; // still detecting
            };
            if self.header_len < need {
                continue;
            }
            if self.header_len > need {
                // Only just detected a 2-octet dialect, and that third octet was the message's
                // `op`: it belongs to the payload.
                self.header_len = need;
                consumed -= 1;
            }
            self.expected = Some(usize::from(u16::from_be_bytes([
                self.header[0],
                self.header[1],
            ])));
        };

        let rest = &input[consumed..];
        if self.payload.is_empty() && rest.len() >= len {
            // The whole payload is in this input: no copy.
            self.reset_frame();
            return Ok(Decoded {
                consumed: consumed + len,
                message: Some(&rest[..len]),
            });
        }
        let take = rest.len().min(len - self.payload.len());
        if self.payload.is_empty() && take > 0 {
            // Exactly one frame's worth, so memory stays bounded by the maximum.
            self.payload.reserve_exact(len);
        }
        self.payload.extend_from_slice(&rest[..take]);
        consumed += take;
        if self.payload.len() == len {
            self.yielded = true;
            Ok(Decoded {
                consumed,
                message: Some(&self.payload),
            })
        } else {
            Ok(Decoded {
                consumed,
                message: None,
            })
        }
    }

    /// Checks what the octet just added to the header tells.
    fn header_step(&mut self) -> Result<()> {
        if self.header_len == 2 {
            let size = usize::from(u16::from_be_bytes([self.header[0], self.header[1]]));
            if size == 0 {
                return Err(Error::BadLength);
            }
            if size > self.max_message_size {
                return Err(Error::TooLarge);
            }
        }
        if self.dialect.is_none() && self.header_len == DETECT_LEN {
            self.dialect = detect_v4(&self.header[..DETECT_LEN])?;
        }
        Ok(())
    }

    #[cfg(test)]
    fn buffer_capacity(&self) -> usize {
        self.payload.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` one after another and collects messages; stops at the first error.
    fn feed(decoder: &mut Decoder, chunks: &[&[u8]]) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            while !input.is_empty() {
                let step = decoder.decode(input)?;
                assert!(step.consumed <= input.len());
                assert!(step.consumed > 0 || step.message.is_some());
                input = &input[step.consumed..];
                if let Some(m) = step.message {
                    out.push(m.to_vec());
                }
            }
        }
        Ok(out)
    }

    fn bytewise(stream: &[u8]) -> Vec<&[u8]> {
        stream.chunks(1).collect()
    }

    #[test]
    fn draft_frame_ignores_unused_octets() {
        let mut d = Decoder::new(Dialect::Draft, 100);
        let got = feed(&mut d, &[&[0, 2, 0xAB, 0xCD, 7, 8, 0, 1, 0, 0, 9]]).unwrap();
        assert_eq!(got, [vec![7, 8], vec![9]]);
        assert!(!d.is_mid_frame());
        d.finish().unwrap();
    }

    #[test]
    fn two_octet_dialects() {
        for dialect in [Dialect::Rfc6926, Dialect::V6] {
            let mut d = Decoder::new(dialect, 100);
            let got = feed(&mut d, &[&[0, 3, 1, 2, 3, 0, 1, 0]]).unwrap();
            assert_eq!(got, [vec![1, 2, 3], vec![0]]);
            assert_eq!(d.dialect(), Some(dialect));
        }
    }

    #[test]
    fn detects_draft() {
        let stream = [0, 2, 0, 0, 1, 2, 0, 1, 5, 5, 3];
        for chunks in [vec![&stream[..]], bytewise(&stream)] {
            let mut d = Decoder::detect_v4(100);
            assert_eq!(d.dialect(), None);
            // In the draft dialect, later frames' unused octets are ignored, even nonzero.
            assert_eq!(feed(&mut d, &chunks).unwrap(), [vec![1, 2], vec![3]]);
            assert_eq!(d.dialect(), Some(Dialect::Draft));
        }
    }

    #[test]
    fn detects_rfc6926_and_keeps_op_in_payload() {
        let stream = [0, 3, 1, 2, 3, 0, 1, 9];
        for chunks in [
            vec![&stream[..]],
            bytewise(&stream),
            vec![&stream[..3], &stream[3..]],
        ] {
            let mut d = Decoder::detect_v4(100);
            assert_eq!(feed(&mut d, &chunks).unwrap(), [vec![1, 2, 3], vec![9]]);
            assert_eq!(d.dialect(), Some(Dialect::Rfc6926));
        }
    }

    #[test]
    fn detection_of_one_octet_rfc_message() {
        let mut d = Decoder::detect_v4(100);
        let step = d.decode(&[0, 1, 1]).unwrap();
        assert_eq!(step.consumed, 3);
        assert_eq!(step.message, Some(&[1u8][..]));
        assert!(!d.is_mid_frame());
    }

    #[test]
    fn detection_one_octet_at_a_time_waits() {
        let mut d = Decoder::detect_v4(100);
        assert_eq!(d.wants(), 3);
        assert_eq!(d.decode(&[0]).unwrap().consumed, 1);
        assert_eq!(d.wants(), 2);
        assert_eq!(d.decode(&[4]).unwrap().consumed, 1);
        assert_eq!(d.wants(), 1);
        assert_eq!(d.dialect(), None);
        // The op octet of RFC 6926 is handed back: not consumed by this call.
        let step = d.decode(&[1]).unwrap();
        assert_eq!((step.consumed, step.message), (1, None));
        assert_eq!(d.dialect(), Some(Dialect::Rfc6926));
        assert_eq!(d.wants(), 3);
    }

    #[test]
    fn unknown_dialect() {
        for b in [2u8, 3, 0x7f, 0xff] {
            let mut d = Decoder::detect_v4(100);
            assert_eq!(
                feed(&mut d, &bytewise(&[0, 4, b, 0])),
                Err(Error::UnknownDialect)
            );
            assert_eq!(d.error(), Some(Error::UnknownDialect));
        }
    }

    #[test]
    fn zero_length_frame_is_bad_length() {
        for mut d in [
            Decoder::new(Dialect::Draft, 100),
            Decoder::new(Dialect::Rfc6926, 100),
            Decoder::new(Dialect::V6, 100),
            Decoder::detect_v4(100),
        ] {
            assert_eq!(feed(&mut d, &[&[0, 0]]), Err(Error::BadLength));
        }
        // Also after good frames.
        let mut d = Decoder::new(Dialect::V6, 100);
        assert_eq!(feed(&mut d, &[&[0, 1, 7, 0, 0, 1]]), Err(Error::BadLength));
    }

    #[test]
    fn too_large_refused_before_buffering() {
        for make in [
            || Decoder::new(Dialect::Draft, 10),
            || Decoder::new(Dialect::V6, 10),
            || Decoder::detect_v4(10),
        ] {
            assert!(make().decode(&[0, 10]).is_ok());
            // The size field alone is enough to refuse: nothing of the payload is taken.
            let mut d = make();
            assert_eq!(d.decode(&[0, 11]), Err(Error::TooLarge));
            assert_eq!(d.buffer_capacity(), 0);
        }
        let mut d = Decoder::new(Dialect::V6, 10);
        let mut big = vec![0xff, 0xff];
        big.resize(70_000, 1);
        assert_eq!(d.decode(&big), Err(Error::TooLarge));
        assert_eq!(d.buffer_capacity(), 0);
    }

    #[test]
    fn max_is_capped_at_u16() {
        assert_eq!(
            Decoder::new(Dialect::V6, 1 << 20).max_message_size(),
            MAX_MESSAGE_SIZE
        );
        let mut d = Decoder::new(Dialect::V6, MAX_MESSAGE_SIZE);
        let mut frame = vec![0xff, 0xff];
        frame.resize(2 + MAX_MESSAGE_SIZE, 3);
        let step = d.decode(&frame).unwrap();
        assert_eq!(step.consumed, frame.len());
        assert_eq!(step.message.unwrap().len(), MAX_MESSAGE_SIZE);
    }

    #[test]
    fn stays_failed() {
        let mut d = Decoder::new(Dialect::Rfc6926, 100);
        assert_eq!(d.decode(&[0, 0]), Err(Error::BadLength));
        assert_eq!(d.decode(&[0, 1, 1]), Err(Error::BadLength));
        assert_eq!(d.finish(), Err(Error::BadLength));
        assert_eq!(d.wants(), 0);
        assert_eq!(d.error(), Some(Error::BadLength));
    }

    #[test]
    fn whole_frames_are_borrowed_from_input() {
        let mut d = Decoder::new(Dialect::Draft, 100);
        let input = [0, 2, 0, 0, 5, 6, 0, 1, 0, 0, 7];
        let step = d.decode(&input).unwrap();
        assert_eq!(step.consumed, 6);
        let m = step.message.unwrap();
        assert_eq!(m.as_ptr(), input[4..].as_ptr());
        let step = d.decode(&input[6..]).unwrap();
        assert_eq!(step.message.unwrap().as_ptr(), input[10..].as_ptr());
        assert_eq!(d.buffer_capacity(), 0);
    }

    #[test]
    fn frame_split_across_reads() {
        let mut d = Decoder::new(Dialect::Rfc6926, 100);
        assert_eq!(d.decode(&[0]).unwrap().consumed, 1);
        assert!(d.is_mid_frame());
        assert_eq!(d.decode(&[5, 1]).unwrap().consumed, 2);
        assert_eq!(d.wants(), 4);
        let step = d.decode(&[2, 3]).unwrap();
        assert_eq!((step.consumed, step.message), (2, None));
        assert_eq!(d.wants(), 2);
        // The rest of this frame and the start of the next: only this frame is taken.
        let step = d.decode(&[4, 5, 0, 1]).unwrap();
        assert_eq!(step.consumed, 2);
        assert_eq!(step.message, Some(&[1u8, 2, 3, 4, 5][..]));
        assert!(!d.is_mid_frame());
        assert_eq!(d.wants(), 2);
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn eof_mid_frame_is_truncated() {
        for (dialect, partial) in [
            (Dialect::Draft, &[0u8][..]),
            (Dialect::Draft, &[0, 3, 0][..]),
            (Dialect::Draft, &[0, 3, 0, 0, 1][..]),
            (Dialect::V6, &[0, 3, 1, 2][..]),
        ] {
            let mut d = Decoder::new(dialect, 100);
            feed(&mut d, &[partial]).unwrap();
            assert!(d.is_mid_frame());
            assert_eq!(d.finish(), Err(Error::Truncated));
            assert_eq!(d.decode(&[1]), Err(Error::Truncated));
        }
        let mut d = Decoder::detect_v4(100);
        feed(&mut d, &[&[0, 3]]).unwrap();
        assert_eq!(d.finish(), Err(Error::Truncated));
    }

    #[test]
    fn clean_eof() {
        let mut d = Decoder::detect_v4(100);
        assert!(!d.is_mid_frame());
        assert_eq!(d.finish(), Ok(()));
        let mut d = Decoder::new(Dialect::V6, 100);
        feed(&mut d, &bytewise(&[0, 2, 1, 2])).unwrap();
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn memory_bounded_by_max() {
        let max = 300;
        let mut d = Decoder::new(Dialect::Draft, max);
        let mut stream = Vec::new();
        for len in [max, 1, max, 17, max] {
            stream.extend_from_slice(&(len as u16).to_be_bytes());
            stream.extend_from_slice(&[0, 0]);
            stream.extend(std::iter::repeat_n(0x55, len));
        }
        for size in [1, 7, 299, 301] {
            let mut n = 0;
            for chunk in stream.chunks(size) {
                let mut input = chunk;
                while !input.is_empty() {
                    let step = d.decode(input).unwrap();
                    input = &input[step.consumed..];
                    n += usize::from(step.message.is_some());
                    assert!(d.buffer_capacity() <= max);
                }
            }
            assert_eq!(n, 5);
        }
    }

    #[test]
    fn empty_input_does_nothing() {
        let mut d = Decoder::detect_v4(100);
        let step = d.decode(&[]).unwrap();
        assert_eq!((step.consumed, step.message), (0, None));
        assert!(!d.is_mid_frame());
    }
}
