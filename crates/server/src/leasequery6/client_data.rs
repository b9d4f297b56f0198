//! OPTION_CLIENT_DATA and OPTION_LQ_RELAY_DATA of a leasequery reply, built from bindings
//! (RFC 5007 §4.1.2.2, §4.1.2.4), for the UDP responder and for bulk leasequery alike.
//!
//! - CLIENT_DATA carries the client's CLIENTID, one IAADDR (IA_NA) or IAPREFIX (IA_PD) per
//!   binding given that is still valid at `now`, with the lifetimes that remain (0 for a
//!   preferred lifetime that has run out), and CLT_TIME: seconds since the client last
//!   talked to the server (relative, §4.1.2.2), from the most recent of the bindings.
//! - LQ_RELAY_DATA is the peer address and the relay chain kept with the binding (the last
//!   RELAY-FORW chain without the innermost RELAY_MSG); only for a binding that has both and
//!   whose chain still parses.

use lessor_store::{Binding6, IaType, Timestamp};
use lessor_wire::v6::{DhcpOption, Duid, Repr, OPTION_LQ_RELAY_DATA};

/// Seconds from `now` to `end`, 0 once passed, as a 32-bit lifetime.
fn remaining(end: Timestamp, now: Timestamp) -> u32 {
    u32::try_from(end.saturating_sub(now)).unwrap_or(u32::MAX)
}

/// The IAADDR or IAPREFIX of `b` at `now`, or `None` when its valid lifetime is over.
pub fn resource(b: &Binding6, now: Timestamp) -> Option<DhcpOption> {
    let valid = remaining(b.valid_end, now);
    if valid == 0 {
        return None;
    }
    let preferred = remaining(b.preferred_end, now).min(valid);
    Some(match b.ia_type {
        IaType::Na => DhcpOption::IaAddr {
            address: b.address,
            preferred_lifetime: preferred,
            valid_lifetime: valid,
            options: Vec::new(),
        },
        IaType::Pd => DhcpOption::IaPrefix {
            preferred_lifetime: preferred,
            valid_lifetime: valid,
            prefix_length: b.prefix_len,
            prefix: b.address,
            options: Vec::new(),
        },
    })
}

/// The CLIENT_DATA of one client's `bindings` (all of one DUID, on one link) at `now`: `None`
/// when the first one has no readable DUID or none of them is still valid.
pub fn client_data<'a>(
    bindings: impl IntoIterator<Item = &'a Binding6>,
    now: Timestamp,
) -> Option<DhcpOption> {
    let mut duid = None;
    let mut resources = Vec::new();
    let mut cltt: Option<Timestamp> = None;
    for b in bindings {
        if duid.is_none() {
            duid = Some(Duid::parse(b.duid()?).ok()?);
        }
        if let Some(r) = resource(b, now) {
            resources.push(r);
            cltt = Some(cltt.map_or(b.cltt, |t| t.max(b.cltt)));
        }
    }
    let mut options = vec![DhcpOption::ClientId(duid?)];
    if resources.is_empty() {
        return None;
    }
    options.extend(resources);
    options.push(DhcpOption::CltTime(remaining(now, cltt?)));
    Some(DhcpOption::ClientData(options))
}

/// The LQ_RELAY_DATA of `b`, if it came through relays and the chain kept parses.
pub fn relay_data(b: &Binding6) -> Option<DhcpOption> {
    let peer_address = b.relay_peer?;
    let chain = Repr::from_bytes(b.relay_chain()?).ok()?;
    Some(DhcpOption::LqRelayData {
        peer_address,
        relay_message: Box::new(chain),
    })
}

/// Whether an ORO asks for LQ_RELAY_DATA (RFC 5007 §4.1.2.4: only then is it sent).
pub fn wants_relay_data(oro: Option<&[u16]>) -> bool {
    oro.is_some_and(|o| o.contains(&OPTION_LQ_RELAY_DATA))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_store::State6;
    use std::net::Ipv6Addr;

    fn binding(ia: IaType, addr: &str, plen: u8) -> Binding6 {
        let duid = [0u8, 3, 0, 1, 2, 0, 0, 0, 0, 1];
        Binding6::new(
            addr.parse().unwrap(),
            plen,
            ia,
            &duid,
            7,
            "2001:db8:1::/64".parse().unwrap(),
            State6::Active,
        )
        .unwrap()
    }

    #[test]
    fn lifetimes_remain_and_clt_time_is_relative() {
        let mut a = binding(IaType::Na, "2001:db8:1::10", 128);
        a.cltt = 1_000;
        a.preferred_end = 1_500;
        a.valid_end = 2_000;
        let mut p = binding(IaType::Pd, "2001:db8:100::", 56);
        p.cltt = 1_100;
        p.preferred_end = 1_150; // passed
        p.valid_end = 1_900;
        let Some(DhcpOption::ClientData(o)) = client_data([&a, &p], 1_200) else {
            panic!("client data expected");
        };
        assert!(matches!(&o[0], DhcpOption::ClientId(_)));
        assert_eq!(
            o[1],
            DhcpOption::IaAddr {
                address: "2001:db8:1::10".parse().unwrap(),
                preferred_lifetime: 300,
                valid_lifetime: 800,
                options: vec![],
            }
        );
        assert_eq!(
            o[2],
            DhcpOption::IaPrefix {
                preferred_lifetime: 0,
                valid_lifetime: 700,
                prefix_length: 56,
                prefix: "2001:db8:100::".parse().unwrap(),
                options: vec![],
            }
        );
        assert_eq!(o[3], DhcpOption::CltTime(100), "from the latest contact");
    }

    #[test]
    fn nothing_valid_is_no_client_data() {
        let mut a = binding(IaType::Na, "2001:db8:1::10", 128);
        a.valid_end = 100;
        assert_eq!(client_data([&a], 100), None);
        assert!(resource(&a, 99).is_some());
    }

    #[test]
    fn relay_data_needs_peer_and_chain() {
        let mut a = binding(IaType::Na, "2001:db8:1::10", 128);
        assert_eq!(relay_data(&a), None);
        let chain = Repr::Relay(lessor_wire::v6::RelayMessage {
            msg_type: lessor_wire::v6::MessageType::RelayForw,
            hop_count: 0,
            link_address: "2001:db8:1::1".parse().unwrap(),
            peer_address: "fe80::1".parse().unwrap(),
            options: vec![DhcpOption::InterfaceId(b"eth0".to_vec())],
        });
        a.set_relay_chain(Some(&chain.to_vec())).unwrap();
        assert_eq!(relay_data(&a), None, "no peer");
        a.relay_peer = Some(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1));
        assert_eq!(
            relay_data(&a),
            Some(DhcpOption::LqRelayData {
                peer_address: "2001:db8:1::1".parse().unwrap(),
                relay_message: Box::new(chain),
            })
        );
        assert!(wants_relay_data(Some(&[47])));
        assert!(!wants_relay_data(Some(&[1, 2])) && !wants_relay_data(None));
    }
}
