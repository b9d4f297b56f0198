//! DHCPv6 messages built by Scapy (an implementation we did not write), checked in as bytes with
//! the script that made them (tests/vectors/make_vectors.py) and a manifest of their fields.

use lessor_wire::v6::{DhcpOption, Duid, Packet, Repr};
use serde_json::Value;
use std::net::Ipv6Addr;
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(vectors_dir().join("vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("manifest lacks {key} in {v}"))
}

fn addr(v: &Value, key: &str) -> Ipv6Addr {
    v[key].as_str().unwrap().parse().unwrap()
}

fn check_duid(duid: &Duid, expected: &Value) {
    match (duid, u(expected, "type")) {
        (
            Duid::Llt {
                hardware_type,
                time,
                link_layer_address,
            },
            1,
        ) => {
            assert_eq!(u64::from(*hardware_type), u(expected, "hw_type"));
            assert_eq!(u64::from(*time), u(expected, "time"));
            assert_eq!(
                hex(link_layer_address),
                expected["lladdr"].as_str().unwrap()
            );
        }
        (
            Duid::En {
                enterprise_number,
                identifier,
            },
            2,
        ) => {
            assert_eq!(
                u64::from(*enterprise_number),
                u(expected, "enterprise_number")
            );
            assert_eq!(hex(identifier), expected["identifier"].as_str().unwrap());
        }
        (
            Duid::Ll {
                hardware_type,
                link_layer_address,
            },
            3,
        ) => {
            assert_eq!(u64::from(*hardware_type), u(expected, "hw_type"));
            assert_eq!(
                hex(link_layer_address),
                expected["lladdr"].as_str().unwrap()
            );
        }
        (other, t) => panic!("DUID {other:?} does not match manifest type {t}"),
    }
}

fn check_options(options: &[DhcpOption], expected: &Value) {
    let expected = expected.as_array().unwrap();
    assert_eq!(options.len(), expected.len(), "option count: {options:?}");
    for (option, e) in options.iter().zip(expected) {
        assert_eq!(u64::from(option.code()), u(e, "code"), "{option:?}");
        // Every option's encoding is exactly Scapy's.
        let mut buf = vec![0; option.buffer_len()];
        option.emit(&mut buf).unwrap();
        assert_eq!(
            hex(&buf[4..]),
            e["hex"].as_str().unwrap(),
            "option {}",
            option.code()
        );
        match option {
            DhcpOption::ClientId(d) | DhcpOption::ServerId(d) | DhcpOption::RelayId(d) => {
                check_duid(d, &e["duid"])
            }
            DhcpOption::IaNa {
                iaid,
                t1,
                t2,
                options,
            }
            | DhcpOption::IaPd {
                iaid,
                t1,
                t2,
                options,
            } => {
                assert_eq!(
                    (u64::from(*iaid), u64::from(*t1), u64::from(*t2)),
                    (u(e, "iaid"), u(e, "t1"), u(e, "t2"))
                );
                check_options(options, &e["options"]);
            }
            DhcpOption::IaAddr {
                address,
                preferred_lifetime,
                valid_lifetime,
                options,
            } => {
                assert_eq!(*address, addr(e, "address"));
                assert_eq!(u64::from(*preferred_lifetime), u(e, "preferred_lifetime"));
                assert_eq!(u64::from(*valid_lifetime), u(e, "valid_lifetime"));
                check_options(options, &e["options"]);
            }
            DhcpOption::IaPrefix {
                preferred_lifetime,
                valid_lifetime,
                prefix_length,
                prefix,
                options,
            } => {
                assert_eq!(u64::from(*preferred_lifetime), u(e, "preferred_lifetime"));
                assert_eq!(u64::from(*valid_lifetime), u(e, "valid_lifetime"));
                assert_eq!(u64::from(*prefix_length), u(e, "prefix_length"));
                assert_eq!(*prefix, addr(e, "prefix"));
                check_options(options, &e["options"]);
            }
            DhcpOption::Oro(codes) => {
                let want: Vec<u64> = e["codes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_u64().unwrap())
                    .collect();
                assert_eq!(
                    codes.iter().map(|&c| u64::from(c)).collect::<Vec<_>>(),
                    want
                );
            }
            DhcpOption::RelayMsg(m) => check_message(m, &e["message"]),
            DhcpOption::InterfaceId(id) => assert_eq!(hex(id), e["interface_id"].as_str().unwrap()),
            DhcpOption::RemoteId {
                enterprise_number,
                remote_id,
            } => {
                assert_eq!(u64::from(*enterprise_number), u(e, "enterprise_number"));
                assert_eq!(hex(remote_id), e["remote_id"].as_str().unwrap());
            }
            DhcpOption::LqQuery {
                query_type,
                link_address,
                options,
            } => {
                assert_eq!(u64::from(u8::from(*query_type)), u(e, "query_type"));
                assert_eq!(*link_address, addr(e, "link_address"));
                check_options(options, &e["options"]);
            }
            DhcpOption::ClientData(options) => check_options(options, &e["options"]),
            DhcpOption::CltTime(seconds) => assert_eq!(u64::from(*seconds), u(e, "seconds")),
            DhcpOption::LqRelayData {
                peer_address,
                relay_message,
            } => {
                assert_eq!(*peer_address, addr(e, "peer_address"));
                check_message(relay_message, &e["message"]);
            }
            DhcpOption::LqClientLink(links) => {
                let want: Vec<Ipv6Addr> = e["link_addresses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().parse().unwrap())
                    .collect();
                assert_eq!(links, &want);
            }
            // ELAPSED_TIME (8) has no typed variant: Scapy's value is checked through the hex above.
            DhcpOption::Other { code: 8, .. } => {}
            other => panic!("manifest has no expectation for {other:?}"),
        }
    }
}

fn check_message(repr: &Repr, expected: &Value) {
    assert_eq!(
        u64::from(u8::from(repr.msg_type())),
        u(expected, "msg_type")
    );
    match repr {
        Repr::ClientServer(m) => {
            assert_eq!(u64::from(m.transaction_id), u(expected, "transaction_id"))
        }
        Repr::Relay(r) => {
            assert_eq!(u64::from(r.hop_count), u(expected, "hop_count"));
            assert_eq!(r.link_address, addr(expected, "link_address"));
            assert_eq!(r.peer_address, addr(expected, "peer_address"));
        }
    }
    check_options(repr.options(), &expected["options"]);
}

#[test]
fn scapy_dhcpv6_vectors_parse_as_scapy_built_them() {
    let manifest = manifest();
    let vectors = manifest["v6"].as_array().unwrap();
    assert!(vectors.len() >= 6);
    for v in vectors {
        let file = v["file"].as_str().unwrap();
        let bytes = std::fs::read(vectors_dir().join(file)).unwrap();
        // The view sees the same top-level options as Scapy, in wire order.
        let packet = Packet::new_checked(&bytes[..]).unwrap_or_else(|e| panic!("{file}: {e}"));
        let codes: Vec<u64> = packet
            .options()
            .map(|o| u64::from(o.unwrap().code))
            .collect();
        let want: Vec<u64> = v["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| u(o, "code"))
            .collect();
        assert_eq!(codes, want, "{file}");

        let repr = Repr::from_bytes(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        check_message(&repr, v);
        assert_eq!(
            repr.to_vec(),
            bytes,
            "{file}: emit must give back Scapy's bytes"
        );
    }
}
