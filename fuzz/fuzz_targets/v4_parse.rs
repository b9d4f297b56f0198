//! DHCPv4 parsing never panics, and whatever parses survives emit + parse unchanged.
#![no_main]

use lessor_wire::v4::{Packet, Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = Packet::new_checked(data) {
        for option in packet.options() {
            if option.is_err() {
                break;
            }
        }
    }
    if let Ok(repr) = Repr::from_bytes(data) {
        let emitted = repr.to_vec();
        let again = Repr::from_bytes(&emitted).expect("an emitted message parses");
        assert_eq!(repr, again, "emit then parse changed the message");
    }
});
