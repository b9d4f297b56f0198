//! `kea-leases4.csv`: rows as Kea 2.2 writes them, schemas, states, what is skipped, option 82,
//! hostile input.

use proptest::prelude::*;
use serde_json::json;
use std::net::Ipv4Addr;

use super::lease4::{Row4, DELETED, EXPIRE_TOO_EARLY, MALFORMED_ROW, UNKNOWN_STATE};
use super::relay::relay_agent_info;
use super::{memfile, Memfile, Rows4};
use crate::isc::{BindingState, Disposition, ImportState, SubOption};

/// As Kea 2.2's `kea-dhcp4` writes it (`CSVLeaseFile4::append`), rows 2 to 5 copied from a file
/// the e2e test (tests/e2e/test_import_kea4.py) had it write: a dhclient through `dhcrelay -a`
/// (circuit-id `r0`) and a relay agent with circuit-id, remote-id and relay-id; then a declined
/// lease (Kea forgets the client), an expired-reclaimed one, one with a hostname holding an
/// escaped comma and a user context with two keys (its comma escaped), and Kea's record of a
/// deleted lease.
pub const SAMPLE4: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
192.0.2.100,02:35:00:00:00:01,6b:65:61:34:2d:63:6c:69:65:6e:74:2d:30,900,1796325996,1,0,0,,0,{ \"ISC\": { \"relay-agent-info\": \"0x01027230\" } }
192.0.2.103,02:00:00:00:4b:01,,900,1796325997,1,0,0,,0,{ \"ISC\": { \"relay-agent-info\": \"0x010573632D6B3402067269642D4B340C0A0003000102000000AA01\" } }
192.0.2.104,,,86400,1796411097,1,0,0,,1,
192.0.2.105,02:00:00:00:00:05,,900,1796325000,1,0,0,,2,
192.0.2.106,02:00:00:00:00:06,01:02:00:00:00:00:06,900,1796325997,1,1,1,pc&#x2c6.example.org,0,{ \"ISC\": { \"relay-agent-info\": \"0x01027230\" }&#x2c \"comment\": \"x\" }
192.0.2.100,02:35:00:00:00:01,6b:65:61:34:2d:63:6c:69:65:6e:74:2d:30,0,1796325996,1,0,0,,0,
";

const EXPIRE: u64 = 1_796_325_996;

fn rows(text: &str) -> Vec<Row4> {
    Rows4::new(text.as_bytes()).map(Result::unwrap).collect()
}

fn skipped(text: &str) -> Vec<crate::isc::Skipped> {
    rows(text)
        .into_iter()
        .filter_map(|r| match r {
            Row4::Skipped(s) => Some(s),
            Row4::Lease(_) => None,
        })
        .collect()
}

fn lease(r: &Row4) -> crate::isc::IscLease {
    match r {
        Row4::Lease(l) => l.lease().unwrap(),
        Row4::Skipped(s) => panic!("{s:?}"),
    }
}

fn sub(code: u8, data: &[u8]) -> SubOption {
    SubOption {
        code,
        data: data.to_vec(),
    }
}

#[test]
fn rows_as_kea_2_2_writes_them() {
    let r = rows(SAMPLE4);
    assert_eq!(r.len(), 6);

    let Row4::Lease(k) = &r[0] else {
        panic!("{:?}", r[0])
    };
    assert_eq!((k.line, k.subnet_id, k.state), (2, 1, 0));
    assert_eq!(k.client_id, b"kea4-client-0");
    let l = lease(&r[0]);
    assert_eq!(l.address, "192.0.2.100".parse::<Ipv4Addr>().unwrap());
    assert_eq!(l.binding_state, Some(BindingState::Active));
    assert_eq!(l.disposition(), Disposition::Import(ImportState::Active));
    assert_eq!(
        (l.starts, l.cltt, l.ends, l.ends_never),
        (Some(EXPIRE - 900), Some(EXPIRE - 900), Some(EXPIRE), false)
    );
    let hw = l.hardware.as_ref().unwrap();
    assert_eq!((hw.htype, &hw.addr[..]), (1, &[2, 0x35, 0, 0, 0, 1][..]));
    assert_eq!(l.uid.as_deref(), Some(&b"kea4-client-0"[..]));
    assert_eq!(l.agent, vec![sub(1, b"r0")]);
    assert!(l.notes.is_empty(), "{:?}", l.notes);

    // option 82 as the relay sent it: circuit-id, remote-id, relay-id, in that order
    let l = lease(&r[1]);
    assert_eq!(l.uid, None);
    assert_eq!(
        l.agent,
        vec![
            sub(1, b"sc-k4"),
            sub(2, b"rid-K4"),
            sub(12, &[0, 3, 0, 1, 2, 0, 0, 0, 0xaa, 1])
        ]
    );
    assert_eq!(l.remote_id(), Some(&b"rid-K4"[..]));

    // declined: no client left, so imported as ISC's abandoned leases without one are (skipped
    // by the disposition, with the same reason)
    let l = lease(&r[2]);
    assert_eq!(l.binding_state, Some(BindingState::Abandoned));
    assert!(!l.has_client_identity());
    assert!(matches!(l.disposition(), Disposition::Skip(_)));

    // expired-reclaimed: keeps its client
    let l = lease(&r[3]);
    assert_eq!(l.binding_state, Some(BindingState::Expired));
    assert_eq!(l.disposition(), Disposition::Import(ImportState::Expired));

    // escapes decoded; DNS flags and the rest of the user context noted
    let l = lease(&r[4]);
    assert_eq!(l.client_hostname.as_deref(), Some("pc,6.example.org"));
    assert_eq!(l.uid.as_deref(), Some(&[1, 2, 0, 0, 0, 0, 6][..]));
    assert_eq!(l.agent, vec![sub(1, b"r0")]);
    let notes: Vec<&str> = l.notes.iter().map(|n| n.what.as_str()).collect();
    assert_eq!(
        notes,
        vec![
            "fqdn_fwd/fqdn_rev (DNS updates done by Kea)",
            "user context (other than relay agent information)"
        ]
    );
    assert!(l.notes.iter().all(|n| n.line == 6));

    // valid lifetime 0: deleted, naming the address so that it drops the earlier row
    let Row4::Lease(k) = &r[5] else {
        panic!("{:?}", r[5])
    };
    let s = k.lease().unwrap_err();
    assert_eq!((s.line, s.kind), (7, DELETED));
    assert_eq!(s.address, Some("192.0.2.100".parse().unwrap()));
}

#[test]
fn older_schemas_and_columns_in_any_order() {
    // Kea 1.x: no state, no user_context
    let old =
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname\n\
               192.0.2.7,02:00:00:00:00:07,,3600,1796325996,3,0,0,h7\n";
    let l = lease(&rows(old)[0]);
    assert_eq!(l.binding_state, Some(BindingState::Active));
    assert_eq!(l.client_hostname.as_deref(), Some("h7"));
    // columns found by name
    let shuffled = "expire,address,subnet_id,client_id,valid_lifetime,hwaddr\n\
                    1796325996,192.0.2.8,1,,600,020000000008\n";
    let l = lease(&rows(shuffled)[0]);
    assert_eq!(l.starts, Some(EXPIRE - 600));
    assert_eq!(l.hardware.unwrap().addr, vec![2, 0, 0, 0, 0, 8]);
    // an infinite lifetime never ends
    let inf = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id\n\
               192.0.2.9,02:00:00:00:00:09,,4294967295,6091293291,1\n";
    let l = lease(&rows(inf)[0]);
    assert!(l.ends_never && l.ends.is_none());
}

#[test]
fn a_header_without_a_required_column_skips_every_row() {
    let text = "address,hwaddr,valid_lifetime,expire,subnet_id\n\
                192.0.2.7,02:00:00:00:00:07,3600,1796325996,1\n\n\
                192.0.2.8,02:00:00:00:00:08,3600,1796325996,1\n";
    let s = skipped(text);
    assert_eq!(s.len(), 2);
    assert_eq!((s[0].line, s[1].line), (2, 4));
    assert!(s.iter().all(|s| s.kind == MALFORMED_ROW));
    assert_eq!(
        s[0].why,
        "the header (line 1) has no `client_id` column: not a kea-leases4.csv"
    );
}

#[test]
fn malformed_rows_are_located_and_name_their_address() {
    let h = SAMPLE4.lines().next().unwrap();
    let text = format!(
        "{h}\n\
         192.0.2.20,02:00:00:00:00:20,,900,1796325996,1,0,0,a,b,0,\n\
         192.0.2.21,02:00:00:00:00:21,,900,1796325996,1,0,0\n\
         192.0.2.999,02:00:00:00:00:22,,900,1796325996,1,0,0,,0,\n\
         192.0.2.23,zz,,900,1796325996,1,0,0,,0,\n\
         192.0.2.24,02:00:00:00:00:24,,-1,1796325996,1,0,0,,0,\n\
         192.0.2.25,02:00:00:00:00:25,,900,1796325996,1,2,0,,0,\n\
         192.0.2.26,02:00:00:00:00:26,,900,1796325996,1,0,0,,0,[1]\n\
         192.0.2.27,02:00:00:00:00:27,,900,1796325996,1,0,0,,0,{{\n"
    );
    let s = skipped(&text);
    let got: Vec<(usize, &str, Option<Ipv4Addr>)> = s
        .iter()
        .map(|s| (s.line, s.why.as_str(), s.address))
        .collect();
    let a = |x: &str| Some(x.parse::<Ipv4Addr>().unwrap());
    assert_eq!(
        got,
        vec![
            (
                2,
                "more than 11 value(s) where the header names 11 column(s)",
                None
            ),
            (3, "8 value(s) where the header names 11 column(s)", None),
            (4, "`address`: not an IPv4 address: \"192.0.2.999\"", None),
            (5, "`hwaddr`: not hex: \"zz\"", a("192.0.2.23")),
            (6, "`valid_lifetime`: not a number: \"-1\"", a("192.0.2.24")),
            (7, "`fqdn_fwd`: not a boolean: \"2\"", a("192.0.2.25")),
            (8, "`user_context`: not a JSON map", a("192.0.2.26")),
            (9, "`user_context`: not a JSON map", a("192.0.2.27")),
        ]
    );
    assert!(s.iter().all(|s| s.kind == MALFORMED_ROW));
    assert_eq!(s[3].what, "row 192.0.2.23");
}

#[test]
fn states_and_times_kea_does_not_define_are_skipped() {
    let h = SAMPLE4.lines().next().unwrap();
    let text = format!(
        "{h}\n\
         192.0.2.30,02:00:00:00:00:30,,900,1796325996,1,0,0,,7,\n\
         192.0.2.31,02:00:00:00:00:31,,900,100,1,0,0,,0,\n\
         192.0.2.32,02:00:00:00:00:32,,900,1796325996,1,0,0,,3,\n"
    );
    let r = rows(&text);
    let kinds: Vec<Result<BindingState, (&str, String)>> = r
        .iter()
        .map(|r| match r {
            Row4::Lease(k) => k
                .lease()
                .map(|l| l.binding_state.unwrap())
                .map_err(|s| (s.kind, s.why)),
            Row4::Skipped(s) => panic!("{s:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            Err((UNKNOWN_STATE, "state 7".to_string())),
            Err((EXPIRE_TOO_EARLY, "expire 100".to_string())),
            Ok(BindingState::Released),
        ]
    );
}

#[test]
fn option_82_from_kea_2_2_and_later_user_contexts() {
    // Kea 2.2: the value as hex after 0x
    let ctx = json!({"ISC": {"relay-agent-info": "0x0102723002026964"}});
    assert_eq!(
        relay_agent_info(&ctx),
        Ok(vec![sub(1, b"r0"), sub(2, b"id")])
    );
    // Kea 2.4+: a map; identifiers only in their own keys are added after the sub-options
    let ctx = json!({"ISC": {"relay-agent-info": {
        "sub-options": "0x01027230", "remote-id": "6964", "relay-id": "0a0b"}}});
    assert_eq!(
        relay_agent_info(&ctx),
        Ok(vec![sub(1, b"r0"), sub(2, b"id"), sub(12, &[10, 11])])
    );
    // ... and not repeated when the sub-options have them
    let ctx =
        json!({"ISC": {"relay-agent-info": {"sub-options": "0x02026964", "remote-id": "6964"}}});
    assert_eq!(relay_agent_info(&ctx), Ok(vec![sub(2, b"id")]));
    // none
    assert_eq!(relay_agent_info(&json!({"ISC": {}})), Ok(vec![]));
    assert_eq!(relay_agent_info(&json!({"other": 1})), Ok(vec![]));
    // unreadable: the reason
    for (ctx, why) in [
        (
            json!({"ISC": {"relay-agent-info": 3}}),
            "neither a string nor a map",
        ),
        (
            json!({"ISC": {"relay-agent-info": "01027230"}}),
            "not hex after `0x`",
        ),
        (json!({"ISC": {"relay-agent-info": "0x010572"}}), "overruns"),
        (
            json!({"ISC": {"relay-agent-info": {"sub-options": 1}}}),
            "`sub-options` is not a string",
        ),
        (
            json!({"ISC": {"relay-agent-info": {"remote-id": "xyz"}}}),
            "`remote-id` is not hex",
        ),
        (
            json!({"ISC": {"relay-agent-info": format!("0x01ff{}", "00".repeat(255))}}),
            "longer than 255",
        ),
    ] {
        let got = relay_agent_info(&ctx).unwrap_err();
        assert!(got.contains(why), "{got} / {why}");
    }
}

#[test]
fn unreadable_relay_information_is_noted_and_the_lease_kept() {
    let h = SAMPLE4.lines().next().unwrap();
    let text = format!(
        "{h}\n192.0.2.40,02:00:00:00:00:40,,900,1796325996,1,0,0,,0,\
         {{ \"ISC\": {{ \"relay-agent-info\": \"0x0105\" }} }}\n"
    );
    let l = lease(&rows(&text)[0]);
    assert!(l.agent.is_empty());
    assert_eq!(l.notes.len(), 1);
    assert!(l.notes[0]
        .what
        .starts_with("relay agent information in the user context (unreadable: "));
}

#[test]
fn the_header_tells_the_two_memfiles_apart() {
    let v6 = super::tests::SAMPLE;
    assert_eq!(memfile(SAMPLE4.as_bytes()).unwrap(), Ok(Memfile::V4));
    assert_eq!(memfile(v6.as_bytes()).unwrap(), Ok(Memfile::V6));
    assert_eq!(
        memfile(&b"\n\naddress,duid\n"[..]).unwrap(),
        Ok(Memfile::V6)
    );
    assert_eq!(
        memfile(&b"lease 192.0.2.1 {\n"[..]).unwrap(),
        Err(
            "the header (line 1) names neither `duid` (kea-leases6.csv) nor `client_id` \
             (kea-leases4.csv): not a Kea memfile"
                .to_string()
        )
    );
    assert_eq!(
        memfile(&b""[..]).unwrap(),
        Err("empty: not a Kea memfile".to_string())
    );
}

/// Whatever the text: no panic, every item on a line of the text, a lease record for every row
/// read.
fn check_invariants(text: &str) {
    let lines = text.split('\n').count();
    for r in Rows4::new(text.as_bytes()) {
        match r.unwrap() {
            Row4::Lease(l) => {
                assert!(l.line <= lines);
                if let Ok(l) = l.lease() {
                    let _ = l.disposition();
                }
            }
            Row4::Skipped(s) => assert!(s.line <= lines),
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        check_invariants(&format!("{}\n{s}", SAMPLE4.lines().next().unwrap()));
        check_invariants(&s);
    }

    #[test]
    fn field_soup_never_panics(
        fields in proptest::collection::vec(
            prop_oneof![
                Just("192.0.2.1"), Just("02:00"), Just("0"), Just("1"), Just("2"), Just("3"),
                Just("4294967295"), Just("18446744073709551615"), Just(""), Just("&#x2c"),
                Just("&#x"), Just("{\"ISC\": {\"relay-agent-info\": \"0x0105\"}}"),
                Just("{\"ISC\": {\"relay-agent-info\": {\"sub-options\": \"0x\"&#x2c \"relay-id\": \"00\"}}}"),
                Just("{}"), Just("x"),
            ],
            0..14,
        )
    ) {
        let text = format!("{}\n{}\n", SAMPLE4.lines().next().unwrap(), fields.join(","));
        check_invariants(&text);
    }
}
