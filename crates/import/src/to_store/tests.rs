use super::*;
use crate::isc::parse;
use std::net::Ipv4Addr;

const T0: u64 = 1_795_474_444; // 2026-11-23 22:54:04 UTC

fn subnets() -> Vec<Ipv4Net> {
    vec![
        "198.51.100.0/24".parse().unwrap(),
        "198.51.100.128/25".parse().unwrap(),
    ]
}

fn lease(addr: &str, body: &str) -> IscLease {
    let r = parse(&format!("lease {addr} {{\n{body}}}\n"));
    assert_eq!(r.leases.len(), 1, "{r:#?}");
    r.leases.into_iter().next().unwrap()
}

const TIMES: &str = "  starts 1 2026/11/23 22:54:04;\n  ends 1 2026/11/23 23:54:04;\n  cltt 1 2026/11/23 22:54:04;\n";
const HW: &str = "  hardware ethernet 02:00:00:00:00:01;\n";

fn with_state(state: &str) -> IscLease {
    lease(
        "198.51.100.7",
        &format!("{TIMES}  binding state {state};\n{HW}"),
    )
}

#[test]
fn active_lease_all_fields() {
    let l = lease(
        "198.51.100.100",
        &format!(
            "{TIMES}  binding state active;\n{HW}  uid \"\\001\\002\\000\\000\\000\\000\\001\";\n  set vendor-class-identifier = \"MSFT 5.0\";\n  option agent.circuit-id \"r0\";\n  option agent.remote-id 73:75:62:2d:31;\n  option agent.relay-id 0:1:2:3;\n  client-hostname \"host-1\";\n"
        ),
    );
    let b = binding4(&l, &subnets(), T0 + 10).unwrap();
    assert_eq!(b.address, Ipv4Addr::new(198, 51, 100, 100));
    assert_eq!(b.state, State4::Active);
    assert_eq!(b.hw, HwAddr::ethernet([2, 0, 0, 0, 0, 1]));
    assert_eq!((b.start, b.end, b.cltt), (T0, T0 + 3600, T0));
    assert_eq!((b.t1, b.t2), (T0 + 1800, T0 + 3150));
    assert_eq!(b.subnet.to_string(), "198.51.100.0/24");
    assert_eq!(b.client_id(), Some(&[1, 2, 0, 0, 0, 0, 1][..]));
    assert_eq!(b.vendor_class_id(), Some(&b"MSFT 5.0"[..]));
    assert_eq!(b.hostname(), Some(&b"host-1"[..]));
    assert_eq!(b.circuit_id(), Some(&b"r0"[..]));
    assert_eq!(b.remote_id(), Some(&b"sub-1"[..]));
    assert_eq!(b.relay_id(), Some(&[0, 1, 2, 3][..]));
    assert_eq!(
        b.relay_agent_information(),
        Some(&[1, 2, b'r', b'0', 2, 5, b's', b'u', b'b', b'-', b'1', 12, 4, 0, 1, 2, 3][..])
    );
}

#[test]
fn most_specific_subnet_wins() {
    let l = lease(
        "198.51.100.200",
        &format!("{TIMES}  binding state active;\n{HW}"),
    );
    let b = binding4(&l, &subnets(), T0).unwrap();
    assert_eq!(b.subnet.to_string(), "198.51.100.128/25");
}

#[test]
fn each_state() {
    let now = T0 + 10;
    for (isc, want) in [
        ("active", State4::Active),
        ("bootp", State4::Active),
        ("reserved", State4::Active),
        ("expired", State4::Expired),
        ("released", State4::Released),
        ("abandoned", State4::Declined),
        ("free", State4::Expired),
        ("backup", State4::Expired),
        ("reset", State4::Expired),
    ] {
        let b = binding4(&with_state(isc), &subnets(), now).unwrap();
        assert_eq!(b.state, want, "{isc}");
    }
}

#[test]
fn active_lease_that_has_ended_is_expired() {
    let l = with_state("active");
    assert_eq!(
        binding4(&l, &subnets(), T0 + 3600).unwrap().state,
        State4::Expired
    );
    assert_eq!(
        binding4(&l, &subnets(), T0 + 3599).unwrap().state,
        State4::Active
    );
}

#[test]
fn ends_never() {
    let l = lease(
        "198.51.100.9",
        &format!("  starts 1 2026/11/23 22:54:04;\n  ends never;\n  binding state active;\n{HW}"),
    );
    let b = binding4(&l, &subnets(), u64::from(u32::MAX)).unwrap();
    assert_eq!(b.state, State4::Active);
    assert_eq!(b.end, NEVER);
    assert!(b.t1 < b.t2 && b.t2 < b.end);
    assert_eq!(b.cltt, T0);
}

#[test]
fn option_82_reconstruction() {
    let sub = |code: u8, data: &[u8]| SubOption {
        code,
        data: data.to_vec(),
    };
    let raw = |subs: &[SubOption]| relay_agent_information(subs).map(|r| r.as_bytes().to_vec());
    assert_eq!(raw(&[]), None);
    assert_eq!(raw(&[sub(2, b"ab")]), Some(vec![2, 2, b'a', b'b']));
    assert_eq!(
        raw(&[sub(12, b"r"), sub(1, b"c")]),
        Some(vec![12, 1, b'r', 1, 1, b'c'])
    );
    // A sub-option over 255 octets cannot be encoded: no raw value, but the lease is kept.
    assert_eq!(raw(&[sub(1, &[7; 256])]), None);
    let l = lease(
        "198.51.100.8",
        &format!(
            "{TIMES}  binding state active;\n{HW}  option agent.circuit-id \"{}\";\n",
            "x".repeat(300)
        ),
    );
    let b = binding4(&l, &subnets(), T0).unwrap();
    assert_eq!(b.circuit_id(), None);
    assert_eq!(b.relay_agent_information(), None);
}

#[test]
fn set_agent_values_fill_option_82() {
    let l = lease(
        "198.51.100.8",
        &format!("{TIMES}  binding state active;\n{HW}  set agent-remote-id = \"modem-7\";\n"),
    );
    let b = binding4(&l, &subnets(), T0).unwrap();
    assert_eq!(b.remote_id(), Some(&b"modem-7"[..]));
    assert_eq!(b.relay_agent_information(), Some(&b"\x02\x07modem-7"[..]));
}

#[test]
fn uid_without_hardware() {
    let l = lease(
        "198.51.100.10",
        &format!("{TIMES}  binding state active;\n  uid 01:02:03;\n"),
    );
    let b = binding4(&l, &subnets(), T0).unwrap();
    assert_eq!(b.client_id(), Some(&[1, 2, 3][..]));
    assert_eq!((b.hw.htype(), b.hw.hlen()), (0, 0));
}

#[test]
fn missing_hardware_and_uid_is_skipped() {
    let l = lease(
        "198.51.100.11",
        &format!("{TIMES}  binding state active;\n"),
    );
    let e = binding4(&l, &subnets(), T0).unwrap_err();
    assert!(e.0.contains("without hardware address or uid"), "{e}");
    let l = lease("198.51.100.11", &format!("{TIMES}  binding state free;\n"));
    assert!(binding4(&l, &subnets(), T0).is_err());
}

#[test]
fn outside_every_subnet_is_skipped() {
    let l = lease(
        "192.0.2.1",
        &format!("{TIMES}  binding state active;\n{HW}"),
    );
    assert_eq!(
        binding4(&l, &subnets(), T0).unwrap_err().0,
        "outside every configured subnet"
    );
    assert!(binding4(&l, &[], T0).is_err());
}

#[test]
fn active_needs_times_others_do_not() {
    let l = lease(
        "198.51.100.12",
        &format!("  starts 1 2026/11/23 22:54:04;\n  binding state active;\n{HW}"),
    );
    assert!(binding4(&l, &subnets(), T0).unwrap_err().0.contains("ends"));
    let l = lease(
        "198.51.100.12",
        &format!("  ends 1 2026/11/23 22:54:04;\n  binding state active;\n{HW}"),
    );
    assert!(binding4(&l, &subnets(), T0)
        .unwrap_err()
        .0
        .contains("starts"));
    let l = lease("198.51.100.12", &format!("  binding state released;\n{HW}"));
    let b = binding4(&l, &subnets(), T0).unwrap();
    assert_eq!(
        (b.state, b.start, b.end, b.t1, b.t2, b.cltt),
        (State4::Released, 0, 0, 0, 0, 0)
    );
}

#[test]
fn no_binding_state_is_skipped() {
    let l = lease("198.51.100.13", &format!("{TIMES}{HW}"));
    assert!(binding4(&l, &subnets(), T0)
        .unwrap_err()
        .0
        .contains("binding state"));
}

#[test]
fn relay_id_from_unknown_12_is_stored_and_option_82_rebuilt_in_order() {
    let l = lease(
        "198.51.100.8",
        &format!(
            "{TIMES}  binding state active;\n{HW}  option agent.circuit-id \"c-1\";\n  \
             option agent.remote-id \"rid-1\";\n  \
             option agent.unknown-12 0:3:0:1:2:0:0:5e:0:53:1;\n"
        ),
    );
    let b = binding4(&l, &subnets(), T0).unwrap();
    let relay_id = [0, 3, 0, 1, 2, 0, 0, 0x5e, 0, 0x53, 1];
    assert_eq!(b.relay_id(), Some(&relay_id[..]));
    let mut raw = vec![
        1, 3, b'c', b'-', b'1', 2, 5, b'r', b'i', b'd', b'-', b'1', 12, 11,
    ];
    raw.extend(relay_id);
    assert_eq!(b.relay_agent_information(), Some(&raw[..]));
}

#[test]
fn every_sub_option_goes_into_option_82_in_file_order() {
    let l = lease(
        "198.51.100.9",
        &format!(
            "{TIMES}  binding state active;\n{HW}  option agent.unknown-12 0:1;\n  \
             option agent.remote-id 0:ff:61:62;\n  option agent.circuit-id \"x\";\n  \
             option agent.unknown-9 0:0:0:9:2:1:1;\n  option agent.agent-id 198.51.100.7;\n  \
             option agent.DOCSIS-device-class 5;\n  option agent.link-selection 192.0.2.1;\n"
        ),
    );
    let b = binding4(&l, &subnets(), T0).unwrap();
    assert_eq!(
        b.relay_agent_information(),
        Some(
            &[
                12, 2, 0, 1, 2, 4, 0, 0xff, b'a', b'b', 1, 1, b'x', 9, 7, 0, 0, 0, 9, 2, 1, 1, 3,
                4, 198, 51, 100, 7, 4, 4, 0, 0, 0, 5, 5, 4, 192, 0, 2, 1
            ][..]
        )
    );
    assert_eq!(b.circuit_id(), Some(&b"x"[..]));
    assert_eq!(b.remote_id(), Some(&[0, 0xff, b'a', b'b'][..]));
    assert_eq!(b.relay_id(), Some(&[0, 1][..]));
}

#[test]
fn what_the_binding_does_not_keep_is_reported() {
    let l = lease(
        "198.51.100.10",
        &format!(
            "{TIMES}  tstp 1 2026/11/23 23:54:04;\n  binding state active;\n  \
             next binding state free;\n{HW}  set ddns-fwd-name = \"h\";\n  \
             set vendor-class-identifier = \"v\";\n  option domain-name \"example\";\n  \
             on expiry {{ set x = 1; }}\n  option agent.circuit-id \"{}\";\n",
            "c".repeat(300)
        ),
    );
    let b = binding4(&l, &subnets(), T0).unwrap();
    let mut got = Vec::new();
    not_imported(&l, &b, |line, kind| got.push((line, kind.to_string())));
    let want: Vec<(usize, String)> = [
        (11, "option domain-name"),
        (12, "`on` event statement"),
        (1, "tstp (the failover peer's end time)"),
        (1, "next binding state (Lessor's own expiry decides)"),
        (1, "set ddns-fwd-name"),
        (
            1,
            "option 82 (a sub-option longer than 255 octets: neither it nor the raw value was kept)",
        ),
    ]
    .into_iter()
    .map(|(l, k)| (l, k.to_string()))
    .collect();
    assert_eq!(got, want);
}
