use super::*;
use crate::isc::tests6::{CLTT, SAMPLE6};
use crate::kea::tests::SAMPLE as KEA;
use crate::to_store6::tests::links;

fn isc(text: &str, now: u64) -> Outcome6 {
    let links = links();
    isc6(text.as_bytes(), Target6 { links: &links, now }).unwrap()
}

fn kea(text: &str, now: u64) -> Outcome6 {
    let links = links();
    kea6(text.as_bytes(), Target6 { links: &links, now }).unwrap()
}

fn keys(o: &Outcome6) -> Vec<String> {
    o.bindings.iter().map(|b| b.prefix().to_string()).collect()
}

#[test]
fn isc_sample() {
    let o = isc(SAMPLE6, CLTT + 10);
    assert_eq!(
        keys(&o),
        vec!["2001:db8:1::1000/128", "2001:db8:100:200::/56"]
    );
    let na = &o.bindings[0];
    assert_eq!(
        (na.ia_type, na.iaid, na.state),
        (IaType::Na, 1, State6::Active)
    );
    assert_eq!((na.start, na.valid_end, na.cltt), (CLTT, CLTT + 3600, CLTT));
    assert_eq!(na.link.to_string(), "2001:db8:1::/64");
    let r = &o.report;
    assert_eq!((r.lease_blocks, r.addresses, r.other_items), (2, 2, 2));
    assert_eq!(
        r.to_string(),
        "2 IA block(s) for 2 address(es) and prefix(es) (the last block of each wins), 2 other \
         item(s)\nwould import 2: 2 active\nskipped 2\n  file metadata (byte order of the \
         writing server), not a lease: 1\n    line 5: authoring-byte-order\n  the ISC server's own DUID, not a lease: \
         1\n    line 7: server-duid: the ISC server's own DUID, not a lease; to keep it, set \
         `[dhcp6] server-duid = \"00:01:00:01:2e:d2:ff:10:02:00:00:00:00:fe\"`\nnot imported \
         from the leases imported (2 statement(s); kind: count, first line):\n  set \
         ddns-fwd-name: 1, first on line 21\n  `on` event statement: 1, first on line 27\n"
    );
}

use lessor_store::IaType;

const NA: &str = "ia-na \"\\001\\000\\000\\000\\000\\001\" {\n  cltt 4 2026/11/26 10:00:00;\n  iaaddr 2001:db8:1::1000 {\n    binding state STATE;\n    preferred-life 1800;\n    max-life 3600;\n    ends 4 2026/11/26 11:00:00;\n  }\n}\n";

fn na(state: &str) -> String {
    NA.replace("STATE", state)
}

#[test]
fn the_last_block_of_an_address_wins() {
    let text = format!("{}{}", na("active"), na("released"));
    let o = isc(&text, CLTT);
    assert_eq!(o.bindings.len(), 1);
    assert_eq!(o.bindings[0].state, State6::Released);
    assert_eq!((o.report.lease_blocks, o.report.addresses), (2, 1));

    // A malformed last block drops the earlier one, and says so.
    let bad = na("active").replace("max-life 3600", "max-life x");
    let text = format!("{}{bad}", na("active"));
    let o = isc(&text, CLTT);
    assert!(o.bindings.is_empty());
    let g = o.report.skipped.get(MALFORMED_IA).unwrap();
    assert_eq!(g.count, 1);
    assert_eq!(g.examples[0].0, 10);
    assert!(
        g.examples[0].1.contains("the earlier block on line 3"),
        "{:?}",
        g.examples
    );

    // A later good block after a malformed one is imported.
    let text = format!("{bad}{}", na("expired"));
    assert_eq!(isc(&text, CLTT).bindings[0].state, State6::Expired);
}

#[test]
fn skipped_leases_are_reported_once_with_their_reason() {
    let outside = na("active").replace("2001:db8:1::1000", "2001:db9::1");
    let text = format!("{outside}{outside}{}", na("active"));
    let o = isc(&text, CLTT + 7200);
    assert_eq!(o.bindings.len(), 1);
    assert_eq!(o.bindings[0].state, State6::Expired);
    assert_eq!(o.report.ended_since, 1);
    let g = o.report.skipped.get(crate::to_store6::OUTSIDE).unwrap();
    assert_eq!(g.count, 1, "only the last block of the address counts");
    assert_eq!(g.examples[0].0, 12);
    assert_eq!(g.examples[0].1, "2001:db9::1");
    // A sub-block without a state, named with its IA.
    let text = na("active").replace("    binding state active;\n", "");
    let o = isc(&text, CLTT);
    let g = o
        .report
        .skipped
        .get("no `binding state` in the block")
        .unwrap();
    assert_eq!(
        g.examples[0],
        (3, "2001:db8:1::1000 in ia-na IAID 1 DUID 00:01".to_string())
    );
}

#[test]
fn kea_sample() {
    let o = kea(KEA, CLTT + 10);
    assert_eq!(
        keys(&o),
        vec![
            "2001:db8:1::1000/128",
            "2001:db8:100:200::/56",
            "2001:db8:1::1001/128",
            "2001:db8:1::1002/128"
        ]
    );
    let states: Vec<State6> = o.bindings.iter().map(|b| b.state).collect();
    assert_eq!(
        states,
        vec![
            State6::Active,
            State6::Active,
            State6::Declined,
            State6::Expired
        ]
    );
    let pd = &o.bindings[1];
    assert_eq!(pd.interface_id(), Some(&b"ge0"[..]));
    assert!(pd.relay_chain().is_some());
    assert_eq!(pd.relay_peer, None);
    assert_eq!(
        o.report.to_string(),
        "4 row(s) for 4 address(es) and prefix(es) (the last row of each wins)\nwould import 4: 2 \
         active, 1 declined, 1 expired\nskipped 0\nnot imported from the leases imported (3 \
         statement(s); kind: count, first line):\n  hwaddr: 1, first on line 2\n  fqdn_fwd/fqdn_rev (DNS \
         updates done by Kea): 1, first on line 3\n  hostname: 1, first on line 3\n"
    );
}

#[test]
fn kea_deleted_rows_drop_the_earlier_ones() {
    let header = KEA.lines().next().unwrap();
    let row = |valid: u32| {
        format!("2001:db8:1::1000,00:01:02,{valid},1795690800,1,1800,0,1,128,0,0,,,0,,0,0\n")
    };
    let text = format!("{header}\n{}{}", row(3600), row(0));
    let o = kea(&text, CLTT);
    assert!(o.bindings.is_empty());
    let g = o.report.skipped.get(crate::kea::lease6::DELETED).unwrap();
    assert_eq!(g.examples[0].0, 3);
    assert!(
        g.examples[0].1.contains("the earlier block on line 2"),
        "{:?}",
        g.examples
    );
    // Re-leased after the deletion.
    let text = format!("{header}\n{}{}{}", row(3600), row(0), row(60));
    assert_eq!(kea(&text, CLTT).bindings.len(), 1);
    // An IA_TA row and a row outside the links.
    let text = format!(
        "{header}\n2001:db8:1::9,00:01:02,60,1795690800,1,30,1,1,128,0,0,,,0,,0,0\n2001:db9::9,00:01:02,60,1795690800,1,30,0,1,128,0,0,,,0,,0,0\n"
    );
    let o = kea(&text, CLTT);
    assert!(o.bindings.is_empty());
    assert_eq!(o.report.skipped.total(), 2);
    assert_eq!(
        o.report
            .skipped
            .get(crate::kea::lease6::TA_ROW)
            .unwrap()
            .first_line(),
        2
    );
}
