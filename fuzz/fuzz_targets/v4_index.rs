//! `Packet::index`, the one-pass option index the leasequery responder and bulk leasequery read
//! every query through: it never panics, fails exactly when walking the options fails, and
//! agrees with a plain walk on which codes are present, which are split (RFC 3396) and what
//! each one's joined value is.
#![no_main]

use lessor_wire::v4::Packet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = Packet::new_checked(data) else {
        return;
    };
    // The reference: every instance of every code, joined in order.
    let mut walked: Vec<Option<(usize, Vec<u8>)>> = vec![None; 256];
    let mut walk_failed = false;
    for option in packet.options() {
        match option {
            Ok(o) => {
                let entry = walked[usize::from(o.code)].get_or_insert((0, Vec::new()));
                entry.0 += 1;
                entry.1.extend_from_slice(o.data);
            }
            Err(_) => {
                walk_failed = true;
                break;
            }
        }
    }
    let index = match packet.index() {
        Ok(index) => index,
        Err(_) => {
            assert!(walk_failed, "the index failed where the walk did not");
            return;
        }
    };
    assert!(!walk_failed, "the index succeeded where the walk failed");
    for code in 0..=255u8 {
        let expected = &walked[usize::from(code)];
        assert_eq!(index.contains(code), expected.is_some(), "code {code}");
        assert_eq!(
            index.is_split(code),
            expected.as_ref().is_some_and(|(n, _)| *n > 1),
            "code {code}"
        );
        let value = index.option(code).expect("an indexed option reads");
        assert_eq!(
            value.as_deref(),
            expected.as_ref().map(|(_, v)| &v[..]),
            "code {code}"
        );
    }
    let codes: Vec<u8> = index.codes().collect();
    let expected: Vec<u8> = (0..=255u8)
        .filter(|c| walked[usize::from(*c)].is_some())
        .collect();
    assert_eq!(codes, expected);
});
