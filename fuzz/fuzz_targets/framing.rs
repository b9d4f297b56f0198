//! Bulk leasequery TCP framing: no input or chunking makes the decoder panic, and the chunking
//! never changes the outcome.
//!
//! Input layout: 2 octets of maximum message size, 2 octets seeding the chunk sizes, then the
//! stream. The same stream goes to a decoder for each dialect and to one that detects the
//! DHCPv4 dialect, once whole and once in chunks; both must give the same messages and the
//! same error. Decoded messages re-encoded in the stream's dialect must decode the same again.
#![no_main]

use lessor_wire::framing::{detect_v4, Decoder, Dialect, Encoder};
use lessor_wire::Error;
use libfuzzer_sys::fuzz_target;

/// Messages decoded, then the error that stopped the stream or the result of `finish`.
type Outcome = (Vec<Vec<u8>>, Result<(), Error>);

fn run(mut decoder: Decoder, chunks: &[&[u8]]) -> (Outcome, Option<Dialect>) {
    let max = decoder.max_message_size();
    let mut messages = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        while !input.is_empty() {
            let step = match decoder.decode(input) {
                Ok(step) => step,
                Err(e) => {
                    assert_eq!(decoder.error(), Some(e));
                    assert_eq!(decoder.decode(&[0, 1, 1]).err(), Some(e), "failure sticks");
                    return ((messages, Err(e)), decoder.dialect());
                }
            };
            assert!(step.consumed <= input.len());
            assert!(step.consumed > 0 || step.message.is_some(), "no progress");
            if let Some(m) = step.message {
                assert!(!m.is_empty() && m.len() <= max);
                messages.push(m.to_vec());
            } else {
                assert_eq!(step.consumed, input.len());
            }
            input = &input[step.consumed..];
        }
    }
    let end = decoder.finish();
    ((messages, end), decoder.dialect())
}

/// Splits `stream` into chunks whose sizes come from a small xorshift generator.
fn chunks(stream: &[u8], seed: u16) -> Vec<&[u8]> {
    let mut state = u32::from(seed) | 1 << 16;
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        // Mostly tiny chunks (splitting headers), sometimes large ones.
        let n = if state & 3 == 0 {
            state >> 2 & 1023
        } else {
            state >> 2 & 7
        } as usize
            + 1;
        let (a, b) = rest.split_at(n.min(rest.len()));
        out.push(a);
        rest = b;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let max = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let seed = u16::from_be_bytes([data[2], data[3]]);
    let stream = &data[4..];
    let split = chunks(stream, seed);

    let _ = detect_v4(stream);
    let makers: [fn(usize) -> Decoder; 4] = [
        |m| Decoder::new(Dialect::Draft, m),
        |m| Decoder::new(Dialect::Rfc6926, m),
        |m| Decoder::new(Dialect::V6, m),
        Decoder::detect_v4,
    ];
    for make in makers {
        let (whole, dialect) = run(make(max), &[stream]);
        let (chunked, chunked_dialect) = run(make(max), &split);
        assert_eq!(whole, chunked, "chunking changed the outcome");
        assert_eq!(dialect, chunked_dialect);

        let Some(dialect) = dialect else { continue };
        let encoder = Encoder::new(dialect, max);
        let mut again = Vec::new();
        for m in &whole.0 {
            encoder
                .encode_to_vec(m, &mut again)
                .expect("a decoded message re-encodes");
        }
        let ((messages, end), _) = run(Decoder::new(dialect, max), &[&again]);
        assert_eq!(messages, whole.0);
        assert_eq!(end, Ok(()));
    }
});
