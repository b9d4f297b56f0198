//! `kea-leases6.csv`: rows, schemas, what is skipped, hostile input.

use proptest::prelude::*;
use std::net::Ipv6Addr;

use super::lease6::{Row6, DELETED, MALFORMED_ROW, TA_ROW};
use super::Rows6;
use crate::lease6::Standing;
use lessor_store::IaType;

/// As Kea 2.2's `kea-dhcp6` writes it (`CSVLeaseFile6::append`): user context as its JSON text
/// (`Element::str`) with commas escaped `&#x2c`, `expire` = cltt + valid lifetime.
pub const SAMPLE: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
2001:db8:1::1000,00:01:00:01:2e:d2:ff:00:02:00:00:00:00:01,3600,1795690800,1,1800,0,1,128,0,0,,02:00:00:00:00:01,0,,1,2
2001:db8:100:200::,00:01:00:01:2e:d2:ff:00:02:00:00:00:00:02,3600,1795690800,1,1800,2,2,56,1,1,host-2.example.net,,0,{ \"ISC\": { \"relay-info\": [ { \"hop\": 0&#x2c \"link\": \"2001:db8:1::1\"&#x2c \"options\": \"0x001200036765300025000800000DE96A2D3132\"&#x2c \"peer\": \"fe80::2\"&#x2c \"remote-id\": \"00000DE96A2D3132\" } ] } },0,0
2001:db8:1::1001,00,3600,1795690800,1,1800,0,0,128,0,0,,,1,,0,0
2001:db8:1::1002,00:03:00:01:02:00:00:00:00:03,3600,1795690800,1,1800,0,3,128,0,0,,,2,,0,0
";

/// 2026-11-26 10:00:00 UTC: the sample's cltt.
pub const CLTT: u64 = 1_795_687_200;

fn rows(text: &str) -> Vec<Row6> {
    Rows6::new(text.as_bytes()).map(Result::unwrap).collect()
}

fn skipped(text: &str) -> Vec<crate::isc::Skipped> {
    rows(text)
        .into_iter()
        .filter_map(|r| match r {
            Row6::Skipped(s) => Some(s),
            Row6::Lease(_) => None,
        })
        .collect()
}

#[test]
fn sample_rows() {
    let r = rows(SAMPLE);
    assert_eq!(r.len(), 4);
    let Row6::Lease(na) = &r[0] else {
        panic!("{:?}", r[0])
    };
    assert_eq!(na.line, 2);
    assert_eq!(na.address, "2001:db8:1::1000".parse::<Ipv6Addr>().unwrap());
    assert_eq!(na.duid, crate::isc::tests6::DUID1);
    assert_eq!((na.valid_lifetime, na.pref_lifetime), (3600, 1800));
    assert_eq!(
        (na.expire, na.subnet_id, na.lease_type, na.iaid),
        (CLTT + 3600, 1, 0, 1)
    );
    assert_eq!(na.hwaddr, vec![2, 0, 0, 0, 0, 1]);
    let l = na.lease().unwrap();
    assert_eq!(
        (l.ia_type, l.prefix_len, l.standing),
        (IaType::Na, 128, Standing::Active)
    );
    assert_eq!((l.cltt, l.valid_end), (Some(CLTT), Some(CLTT + 3600)));
    assert!(l.relay.is_empty());
    let notes: Vec<&str> = l.notes.iter().map(|n| n.what.as_str()).collect();
    assert_eq!(notes, vec!["hwaddr"]);

    let Row6::Lease(pd) = &r[1] else {
        panic!("{:?}", r[1])
    };
    assert_eq!(pd.hostname, "host-2.example.net");
    let l = pd.lease().unwrap();
    assert_eq!((l.ia_type, l.prefix_len, l.iaid), (IaType::Pd, 56, 2));
    assert_eq!(l.relay.interface_id.as_deref(), Some(&b"ge0"[..]));
    assert_eq!(
        l.relay.remote_id.as_deref(),
        Some(&[0, 0, 0x0d, 0xe9, b'j', b'-', b'1', b'2'][..])
    );
    assert!(l.relay.chain.is_some());
    let notes: Vec<&str> = l.notes.iter().map(|n| n.what.as_str()).collect();
    assert_eq!(
        notes,
        vec!["hostname", "fqdn_fwd/fqdn_rev (DNS updates done by Kea)"]
    );

    let Row6::Lease(declined) = &r[2] else {
        panic!()
    };
    assert_eq!(declined.duid, vec![0]);
    assert_eq!(declined.lease().unwrap().standing, Standing::Declined);
    let Row6::Lease(reclaimed) = &r[3] else {
        panic!()
    };
    assert_eq!(reclaimed.lease().unwrap().standing, Standing::Expired);
}

#[test]
fn older_schemas_and_column_order() {
    // Schema 1.0: up to hostname; state defaults to 0.
    let text = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname\n2001:db8:1::5,01:02:03,60,1000,1,30,0,9,128,0,0,\n";
    let r = rows(text);
    let Row6::Lease(l) = &r[0] else {
        panic!("{r:?}")
    };
    assert_eq!((l.state, l.iaid, l.user_context.is_none()), (0, 9, true));
    // Columns are found by name.
    let text = "duid,address,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len\n01:02:03,2001:db8:1::6,60,1000,1,30,0,9,128\n";
    let Row6::Lease(l) = &rows(text)[0] else {
        panic!()
    };
    assert_eq!(l.address, "2001:db8:1::6".parse::<Ipv6Addr>().unwrap());
}

#[test]
fn a_header_without_a_required_column_skips_every_row() {
    // A kea-leases4.csv given as a DHCPv6 file.
    let text = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n192.0.2.1,02:00:00:00:00:01,,3600,1000,1,0,0,,0,\n192.0.2.2,02:00:00:00:00:02,,3600,1000,1,0,0,,0,\n";
    let s = skipped(text);
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].line, s[1].line), (2, 3));
    assert!(s[0].why.contains("has no `duid` column"), "{}", s[0].why);
}

#[test]
fn malformed_rows_say_why_with_their_line() {
    let header = SAMPLE.lines().next().unwrap();
    let good = "2001:db8:1::1000,00:01:02,3600,5000,1,1800,0,1,128,0,0,,,0,,0,0";
    let cases = [
        (
            "2001:db8:1::1000,00:01:02,3600",
            "3 value(s) where the header names 17",
        ),
        (
            "2001:db8:1::1000,00:01:02,3600,5000,1,1800,0,1,128,0,0,,,0,,0,0,extra",
            "more than 17 value(s)",
        ),
        (
            "2001:db8:1::zz,00:01:02,3600,5000,1,1800,0,1,128,0,0,,,0,,0,0",
            "`address`",
        ),
        (
            "2001:db8:1::1000,,3600,5000,1,1800,0,1,128,0,0,,,0,,0,0",
            "`duid`: empty",
        ),
        (
            "2001:db8:1::1000,0g,3600,5000,1,1800,0,1,128,0,0,,,0,,0,0",
            "`duid`: not hex",
        ),
        (
            "2001:db8:1::1000,00:01:02,4294967296,5000,1,1800,0,1,128,0,0,,,0,,0,0",
            "`valid_lifetime`: out of range",
        ),
        (
            "2001:db8:1::1000,00:01:02,-1,5000,1,1800,0,1,128,0,0,,,0,,0,0",
            "`valid_lifetime`: not a number",
        ),
        (
            "2001:db8:1::1000,00:01:02,3600,5000,1,1800,0,1,129,0,0,,,0,,0,0",
            "`prefix_len`: 129 is over 128",
        ),
        (
            "2001:db8:1::1000,00:01:02,3600,5000,1,1800,0,1,128,2,0,,,0,,0,0",
            "`fqdn_fwd`: not a boolean",
        ),
        (
            "2001:db8:1::1000,00:01:02,3600,5000,1,1800,0,1,128,0,0,,,0,[1],0,0",
            "`user_context`: not a JSON map",
        ),
        (
            "2001:db8:1::1000,00:01:02,3600,5000,1,1800,0,1,128,0,0,,,0,{\"a\": ,0,0",
            "`user_context`",
        ),
    ];
    for (row, why) in cases {
        let text = format!("{header}\n{row}\n{good}\n");
        let r = rows(&text);
        assert_eq!(r.len(), 2, "{row}");
        let Row6::Skipped(s) = &r[0] else {
            panic!("{row}: {:?}", r[0])
        };
        assert_eq!((s.line, s.kind), (2, MALFORMED_ROW));
        assert!(s.why.contains(why), "{} / {why}", s.why);
        assert!(matches!(r[1], Row6::Lease(_)));
    }
    // A malformed row for an address names it, so that it drops the earlier rows for it.
    let text = format!("{header}\n2001:db8:1::1000,00:01:02,x,5000,1,1800,0,1,128,0,0,,,0,,0,0\n");
    assert_eq!(
        skipped(&text)[0].v6_keys,
        vec![("2001:db8:1::1000".parse().unwrap(), 128)]
    );
}

#[test]
fn rows_that_are_no_lease() {
    let header = SAMPLE.lines().next().unwrap();
    let row = |valid: u32, expire: u64, ty: u8, state: u32| {
        let text = format!("{header}\n2001:db8:1::7,00:01:02,{valid},{expire},1,10,{ty},1,128,0,0,,,{state},,0,0\n");
        match rows(&text).remove(0) {
            Row6::Lease(l) => l.lease(),
            Row6::Skipped(s) => panic!("{s:?}"),
        }
    };
    assert_eq!(row(60, 1000, 1, 0).unwrap_err().0, TA_ROW);
    assert_eq!(row(0, 1000, 0, 0).unwrap_err().0, DELETED);
    assert!(row(60, 1000, 3, 0)
        .unwrap_err()
        .0
        .starts_with("unknown lease type"));
    assert!(row(60, 1000, 0, 9)
        .unwrap_err()
        .0
        .starts_with("unknown lease state"));
    assert!(row(60, 10, 0, 0)
        .unwrap_err()
        .0
        .starts_with("`expire` before"));
    // An infinite valid lifetime never ends.
    assert_eq!(
        row(u32::MAX, u64::from(u32::MAX) + 5, 0, 0)
            .unwrap()
            .valid_end,
        None
    );
}

#[test]
fn blank_and_overlong_lines() {
    let header = SAMPLE.lines().next().unwrap();
    let mut text = format!("\n{header}\n\n");
    text.push_str(&"x".repeat(super::csv::MAX_LINE + 1));
    text.push('\n');
    text.push_str("2001:db8:1::1000,00:01:02,3600,5000,1,1800,0,1,128,0,0,,,0,,0,0\n");
    let r = rows(&text);
    assert_eq!(r.len(), 2);
    let Row6::Skipped(s) = &r[0] else { panic!() };
    assert_eq!(s.line, 4);
    assert!(s.why.contains("longer than"));
    assert!(matches!(&r[1], Row6::Lease(l) if l.line == 5));
}

fn check_invariants(text: &str) {
    let lines = text.lines().count() + 1;
    for r in Rows6::new(text.as_bytes()) {
        match r.unwrap() {
            Row6::Lease(l) => {
                assert!(l.line <= lines);
                let _ = l.lease();
            }
            Row6::Skipped(s) => assert!(s.line <= lines),
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        check_invariants(&format!("{}\n{s}", SAMPLE.lines().next().unwrap()));
        check_invariants(&s);
    }

    #[test]
    fn field_soup_never_panics(
        fields in proptest::collection::vec(
            prop_oneof![
                Just("2001:db8::1"), Just("00:01"), Just("0"), Just("1"), Just("2"), Just("128"),
                Just("4294967295"), Just(""), Just("&#x2c"), Just("&#x"), Just("{\"ISC\": {\"relay-info\": [{\"hop\": 0&#x2c \"link\": \"::\"&#x2c \"peer\": \"::\"&#x2c \"options\": \"0x0012\"}]}}"),
                Just("{}"), Just("x"),
            ],
            0..20,
        )
    ) {
        let text = format!("{}\n{}\n", SAMPLE.lines().next().unwrap(), fields.join(","));
        check_invariants(&text);
    }
}
