//! Property tests of bulk leasequery TCP framing: whatever the chunking of the stream, the
//! decoder gives back exactly the messages that were encoded, and no input makes it panic or
//! hold more than one frame.

use lessor_wire::framing::{Decoder, Dialect, Encoder};
use lessor_wire::Error;
use proptest::prelude::*;

const MAX: usize = 600;

fn dialect() -> impl Strategy<Value = Dialect> {
    prop_oneof![
        Just(Dialect::Draft),
        Just(Dialect::Rfc6926),
        Just(Dialect::V6)
    ]
}

fn messages() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 1..=MAX), 0..8)
}

/// Chunk sizes for splitting a stream: small ones dominate so frames split often.
fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1..4usize, 1..64usize, 1..2000usize], 1..40)
}

/// Splits `stream` by cycling through `sizes`.
fn chunks<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    out
}

/// Feeds every chunk, checking the decoder's invariants at each step.
fn feed(decoder: &mut Decoder, chunks: &[&[u8]]) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        while !input.is_empty() {
            let wants = decoder.wants();
            let max = decoder.max_message_size();
            let step = decoder.decode(input)?;
            assert!(step.consumed <= input.len());
            if step.message.is_none() {
                assert_eq!(step.consumed, input.len(), "takes all it can use");
            }
            if input.len() < wants {
                assert!(step.message.is_none(), "a message needs all it asked for");
            }
            assert!(
                step.consumed > 0 || step.message.is_some(),
                "always progresses"
            );
            if let Some(m) = step.message {
                assert!(!m.is_empty() && m.len() <= max);
                out.push(m.to_vec());
            }
            input = &input[step.consumed..];
        }
    }
    Ok(out)
}

fn encode(dialect: Dialect, messages: &[Vec<u8>]) -> Vec<u8> {
    let encoder = Encoder::new(dialect, MAX);
    let mut stream = Vec::new();
    for m in messages {
        encoder.encode_to_vec(m, &mut stream).unwrap();
    }
    stream
}

proptest! {
    #[test]
    fn any_chunking_gives_back_the_messages(
        dialect in dialect(),
        messages in messages(),
        sizes in chunk_sizes(),
    ) {
        let stream = encode(dialect, &messages);
        let mut decoder = Decoder::new(dialect, MAX);
        let got = feed(&mut decoder, &chunks(&stream, &sizes)).unwrap();
        prop_assert_eq!(got, messages);
        prop_assert!(!decoder.is_mid_frame());
        prop_assert_eq!(decoder.finish(), Ok(()));
    }

    #[test]
    fn detection_finds_the_v4_dialect(
        draft in any::<bool>(),
        mut messages in messages(),
        sizes in chunk_sizes(),
    ) {
        let dialect = if draft { Dialect::Draft } else { Dialect::Rfc6926 };
        // A requestor's first message is a query: op = 1 (BOOTREQUEST).
        if let Some(first) = messages.first_mut() {
            first[0] = 1;
        }
        let stream = encode(dialect, &messages);
        let mut decoder = Decoder::detect_v4(MAX);
        let got = feed(&mut decoder, &chunks(&stream, &sizes)).unwrap();
        prop_assert_eq!(&got, &messages);
        if !messages.is_empty() {
            prop_assert_eq!(decoder.dialect(), Some(dialect));
        }
        prop_assert_eq!(decoder.finish(), Ok(()));
    }

    #[test]
    fn cut_stream_is_truncated_at_eof(
        dialect in dialect(),
        messages in messages(),
        cut in any::<prop::sample::Index>(),
    ) {
        prop_assume!(!messages.is_empty());
        let stream = encode(dialect, &messages);
        let end = cut.index(stream.len());
        let mut decoder = Decoder::new(dialect, MAX);
        let got = feed(&mut decoder, &[&stream[..end]]).unwrap();
        let whole = got.len();
        prop_assert_eq!(&got[..], &messages[..whole]);
        let at_boundary = encode(dialect, &messages[..whole]).len() == end;
        prop_assert_eq!(decoder.is_mid_frame(), !at_boundary);
        let expect = if at_boundary { Ok(()) } else { Err(Error::Truncated) };
        prop_assert_eq!(decoder.finish(), expect);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..3000),
        sizes in chunk_sizes(),
        max in 0..2000usize,
        mode in 0..4u8,
    ) {
        let mut decoder = match mode {
            0 => Decoder::new(Dialect::Draft, max),
            1 => Decoder::new(Dialect::Rfc6926, max),
            2 => Decoder::new(Dialect::V6, max),
            _ => Decoder::detect_v4(max),
        };
        let chunks = chunks(&bytes, &sizes);
        match feed(&mut decoder, &chunks) {
            Ok(_) => {
                let mid = decoder.is_mid_frame();
                prop_assert_eq!(decoder.finish().is_err(), mid);
            }
            Err(e) => {
                // Failed for good.
                prop_assert_eq!(decoder.error(), Some(e));
                prop_assert_eq!(decoder.decode(&[0, 1, 1]).err(), Some(e));
                prop_assert_eq!(decoder.finish(), Err(e));
            }
        }
    }
}
