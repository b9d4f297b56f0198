//! DHCPv4 leasequery messages built by Scapy (an implementation we did not write), checked in as
//! bytes with the script that made them (tests/vectors/make_vectors.py) and a manifest of their
//! fields: header, every option instance as on the wire, and the RFC 3396 merged values.

use lessor_wire::v4::{DhcpOption, Packet, Repr};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("manifest lacks {key} in {v}"))
}

fn ip(v: &Value) -> Ipv4Addr {
    v.as_str().unwrap().parse().unwrap()
}

fn check_typed(option: &DhcpOption, e: &Value, file: &str) {
    let code = option.code();
    match option {
        DhcpOption::MessageType(t) => assert_eq!(u64::from(u8::from(*t)), u(e, "value")),
        DhcpOption::ServerIdentifier(a) => assert_eq!(*a, ip(&e["address"])),
        DhcpOption::ParameterRequestList(codes) => {
            let want: Vec<u8> = e["codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap() as u8)
                .collect();
            assert_eq!(codes, &want, "{file}");
        }
        DhcpOption::IpAddressLeaseTime(n)
        | DhcpOption::RenewalTime(n)
        | DhcpOption::RebindingTime(n)
        | DhcpOption::ClientLastTransactionTime(n) => {
            assert_eq!(u64::from(*n), u(e, "u32"), "{file}: option {code}")
        }
        DhcpOption::AssociatedIp(list) => {
            let want: Vec<Ipv4Addr> = e["addresses"].as_array().unwrap().iter().map(ip).collect();
            assert_eq!(list, &want, "{file}");
        }
        DhcpOption::RelayAgentInformation(rai) => {
            let got: Vec<(u64, String)> = rai
                .sub_options()
                .map(|s| s.unwrap())
                .map(|s| (u64::from(s.code), hex(s.data)))
                .collect();
            let want: Vec<(u64, String)> = e["suboptions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| (u(s, "code"), s["hex"].as_str().unwrap().to_owned()))
                .collect();
            assert_eq!(got, want, "{file}: option 82 sub-options");
            // The raw value is kept so it can be echoed byte for byte.
            assert_eq!(hex(rai.as_bytes()), e["hex"].as_str().unwrap());
        }
        DhcpOption::ClientIdentifier(_) | DhcpOption::Other { .. } => {}
        other => panic!("{file}: manifest has no expectation for {other:?}"),
    }
}

#[test]
fn scapy_dhcpv4_vectors_parse_as_scapy_built_them() {
    let text = std::fs::read_to_string(vectors_dir().join("vectors.json")).unwrap();
    let manifest: Value = serde_json::from_str(&text).unwrap();
    let vectors = manifest["v4"].as_array().unwrap();
    assert!(vectors.len() >= 10);
    for v in vectors {
        let file = v["file"].as_str().unwrap();
        let bytes = std::fs::read(vectors_dir().join(file)).unwrap();

        // The view: header fields and every option instance in wire order (options, file, sname).
        let p = Packet::new_checked(&bytes[..]).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(u64::from(p.op()), u(v, "op"), "{file}");
        assert_eq!(u64::from(p.htype()), u(v, "htype"), "{file}");
        assert_eq!(u64::from(p.hlen()), u(v, "hlen"), "{file}");
        assert_eq!(u64::from(p.xid()), u(v, "xid"), "{file}");
        assert_eq!(u64::from(p.flags()), u(v, "flags"), "{file}");
        assert_eq!(p.ciaddr(), ip(&v["ciaddr"]), "{file}");
        assert_eq!(p.yiaddr(), ip(&v["yiaddr"]), "{file}");
        assert_eq!(p.giaddr(), ip(&v["giaddr"]), "{file}");
        assert_eq!(
            hex(p.client_hw_addr()),
            v["chaddr"].as_str().unwrap(),
            "{file}"
        );
        let instances: Vec<(u64, String)> = p
            .options()
            .map(|o| o.unwrap())
            .map(|o| (u64::from(o.code), hex(o.data)))
            .collect();
        let want: Vec<(u64, String)> = v["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| (u(o, "code"), o["hex"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(instances, want, "{file}: option instances");
        assert_eq!(
            p.message_type().unwrap().map(u8::from).map(u64::from),
            Some(u(v, "message_type")),
            "{file}"
        );

        // The Repr: RFC 3396 merged values, typed, in order of first appearance; option 52 is
        // framing and not kept.
        let repr = Repr::from_bytes(&bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
        let merged: Vec<&Value> = v["merged_options"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| u(o, "code") != 52)
            .collect();
        assert_eq!(
            repr.options.len(),
            merged.len(),
            "{file}: {:?}",
            repr.options
        );
        for (option, e) in repr.options.iter().zip(&merged) {
            assert_eq!(u64::from(option.code()), u(e, "code"), "{file}");
            assert_eq!(
                hex(&option.value_bytes()),
                e["hex"].as_str().unwrap(),
                "{file}: option {}",
                option.code()
            );
            check_typed(option, e, file);
        }
        // Whatever we read, we write back so that it reads the same.
        assert_eq!(Repr::from_bytes(&repr.to_vec()).unwrap(), repr, "{file}");
        let overloaded = v["sname_hex"] != "" || v["file_hex"] != "";
        let split =
            v["options"].as_array().unwrap().len() != v["merged_options"].as_array().unwrap().len();
        if !overloaded && !split {
            assert_eq!(
                hex(&repr.to_vec()),
                hex(&bytes),
                "{file}: emit must give back Scapy's bytes"
            );
        }
    }
}
