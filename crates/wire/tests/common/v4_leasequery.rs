//! The DHCPLEASEQUERY shared by `benches/v4_leasequery.rs` and `tests/v4_view_alloc.rs`, and the
//! typed reads a leasequery responder makes on it through the zero-copy [`Packet`] view.
//!
//! Not a test target of its own: Cargo only builds files directly under `tests/`.

use std::hint::black_box;
use std::net::Ipv4Addr;

use lessor_wire::v4::{MessageType, Packet};
use lessor_wire::Result;

/// The client's MAC address.
pub const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];
/// The querying relay / access concentrator (giaddr).
pub const GIADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Length of the query on the wire: the BOOTP minimum message size.
pub const QUERY_LEN: usize = 300;

/// A 300-octet DHCPLEASEQUERY (RFC 4388 §6.1) as a relay sends it: query by client-identifier
/// (chaddr also carries the MAC), giaddr set, ciaddr zero; options 53, 61, 55 (51, 58, 59, 82, 91,
/// 92, 61) and 82 with circuit-id, remote-id and relay-id (RFC 6925, a DUID-LL); end, then pad
/// octets up to 300.
pub fn leasequery() -> Vec<u8> {
    let mut b = vec![0u8; 240];
    b[0] = 1; // op BOOTREQUEST
    b[1] = 1; // htype Ethernet
    b[2] = 6; // hlen
    b[4..8].copy_from_slice(&0x5eed_1e45u32.to_be_bytes()); // xid
    b[24..28].copy_from_slice(&GIADDR.octets());
    b[28..34].copy_from_slice(&MAC);
    b[236..240].copy_from_slice(&[99, 130, 83, 99]);
    // 53 DHCP Message Type: DHCPLEASEQUERY (10).
    b.extend_from_slice(&[53, 1, 10]);
    // 61 client-identifier: type 1 (Ethernet) + MAC.
    b.extend_from_slice(&[61, 7, 1]);
    b.extend_from_slice(&MAC);
    // 55 Parameter Request List.
    b.extend_from_slice(&[55, 7, 51, 58, 59, 82, 91, 92, 61]);
    // 82 Relay Agent Information.
    let circuit = b"ge-0/0/1.100";
    let relay_duid = [0, 3, 0, 1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0xfe];
    let len = 2 + circuit.len() + 2 + MAC.len() + 2 + relay_duid.len();
    b.extend_from_slice(&[82, len as u8]);
    b.extend_from_slice(&[1, circuit.len() as u8]);
    b.extend_from_slice(circuit);
    b.extend_from_slice(&[2, MAC.len() as u8]);
    b.extend_from_slice(&MAC);
    b.extend_from_slice(&[12, relay_duid.len() as u8]);
    b.extend_from_slice(&relay_duid);
    b.push(255);
    assert!(b.len() <= QUERY_LEN, "query is {} octets", b.len());
    b.resize(QUERY_LEN, 0); // pad (0) octets after the end option, to 300
    b
}

/// What a leasequery responder reads from a DHCPLEASEQUERY: parse with the checked view, index
/// its options in one pass ([`Packet::index`]), then message type, giaddr, ciaddr, chaddr,
/// client-identifier, parameter request list and the option 82 sub-options it needs (circuit-id,
/// remote-id, relay-id). Every value goes through [`black_box`]; the return value is the number of
/// octets looked at, so the work is not dead.
pub fn view_reads(bytes: &[u8]) -> Result<usize> {
    let p = Packet::new_checked(black_box(bytes))?;
    let o = p.index()?;
    let mt = black_box(o.message_type()?);
    debug_assert_eq!(mt, Some(MessageType::LeaseQuery));
    black_box(p.xid());
    black_box(p.giaddr());
    black_box(p.ciaddr());
    let mut n = black_box(p.client_hw_addr()).len();
    if let Some(cid) = o.client_identifier()? {
        n += black_box(&*cid).len();
    }
    if let Some(prl) = o.parameter_request_list()? {
        n += black_box(&*prl).len();
    }
    if let Some(rai) = o.relay_agent_information()? {
        n += black_box(rai.circuit_id()?).map_or(0, <[u8]>::len);
        n += black_box(rai.remote_id()?).map_or(0, <[u8]>::len);
        n += black_box(rai.relay_id()?).map_or(0, <[u8]>::len);
    }
    Ok(n)
}

/// The same reads through the accessors of [`Packet`] itself, each of which walks every option
/// (RFC 3396 makes it look for further instances). Benchmarked as `parse/lessor_view_scanning`
/// to show what the index saves.
pub fn view_reads_scanning(bytes: &[u8]) -> Result<usize> {
    let p = Packet::new_checked(black_box(bytes))?;
    let mt = black_box(p.message_type()?);
    debug_assert_eq!(mt, Some(MessageType::LeaseQuery));
    black_box(p.xid());
    black_box(p.giaddr());
    black_box(p.ciaddr());
    let mut n = black_box(p.client_hw_addr()).len();
    if let Some(cid) = p.client_identifier()? {
        n += black_box(&*cid).len();
    }
    if let Some(prl) = p.parameter_request_list()? {
        n += black_box(&*prl).len();
    }
    if let Some(rai) = p.relay_agent_information()? {
        n += black_box(rai.circuit_id()?).map_or(0, <[u8]>::len);
        n += black_box(rai.remote_id()?).map_or(0, <[u8]>::len);
        n += black_box(rai.relay_id()?).map_or(0, <[u8]>::len);
    }
    Ok(n)
}
