//! `dhcpd6.leases`: IA blocks, byte order, what is skipped, hostile input.

use super::*;
use proptest::prelude::*;
use std::net::Ipv6Addr;

/// The shape isc-dhcp-4.4.3-P1 `dhcpd -6` writes (`write_ia` in server/db.c): the key quoted
/// with octal escapes, `cltt` then one block per address or prefix.
pub const SAMPLE6: &str = r#"# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\000\001\000\001.\322\377\020\002\000\000\000\000\376";

ia-na "\001\000\000\000\000\001\000\001.\322\377\000\002\000\000\000\000\001" {
  cltt 4 2026/11/26 10:00:00;
  iaaddr 2001:db8:1::1000 {
    binding state active;
    preferred-life 1800;
    max-life 3600;
    ends 4 2026/11/26 11:00:00;
  }
}

ia-pd "\002\000\000\000\000\001\000\001.\322\377\000\002\000\000\000\000\002" {
  cltt 4 2026/11/26 10:00:00;
  iaprefix 2001:db8:100:200::/56 {
    binding state active;
    preferred-life 1800;
    max-life 3600;
    ends 4 2026/11/26 11:00:00;
    set ddns-fwd-name = "x.example.net";
    on expiry {
      log ("gone");
    }
  }
}
"#;

/// 2026-11-26 10:00:00 UTC.
pub const CLTT: u64 = 1_795_687_200;

pub const DUID1: [u8; 14] = [0, 1, 0, 1, 0x2e, 0xd2, 0xff, 0, 2, 0, 0, 0, 0, 1];

fn items(text: &str) -> Vec<Item> {
    Reader::with_family(text.as_bytes(), Family::V6)
        .map(Result::unwrap)
        .collect()
}

fn ias(text: &str) -> Vec<IscIa> {
    items(text)
        .into_iter()
        .filter_map(|i| match i {
            Item::Ia(ia) => Some(*ia),
            _ => None,
        })
        .collect()
}

fn skipped(text: &str) -> Vec<Skipped> {
    items(text)
        .into_iter()
        .filter_map(|i| match i {
            Item::Skipped(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn sample_ia_na_and_ia_pd() {
    let got = ias(SAMPLE6);
    assert_eq!(got.len(), 2);
    let na = &got[0];
    assert_eq!((na.line, na.kind, na.iaid), (9, IaKind::Na, 1));
    assert_eq!(na.duid, DUID1);
    assert_eq!(na.cltt, Some(CLTT));
    assert_eq!(na.subs.len(), 1);
    let a = &na.subs[0];
    assert_eq!(a.line, 11);
    assert_eq!(a.address, "2001:db8:1::1000".parse::<Ipv6Addr>().unwrap());
    assert_eq!(a.prefix_len, 128);
    assert_eq!(a.binding_state, Some(BindingState::Active));
    assert_eq!((a.preferred_life, a.max_life), (Some(1800), Some(3600)));
    assert_eq!(a.ends, Some(CLTT + 3600));
    assert!(a.notes.is_empty() && a.sets.is_empty());

    let pd = &got[1];
    assert_eq!((pd.kind, pd.iaid), (IaKind::Pd, 2));
    let p = &pd.subs[0];
    assert_eq!(
        (p.address, p.prefix_len),
        ("2001:db8:100:200::".parse().unwrap(), 56)
    );
    assert_eq!(p.sets.len(), 1);
    assert_eq!(p.notes.len(), 1);
    assert_eq!(p.notes[0].what, "`on` event statement");

    let s = skipped(SAMPLE6);
    let kinds: Vec<(usize, &str)> = s.iter().map(|s| (s.line, s.what.as_str())).collect();
    assert_eq!(kinds, vec![(5, "authoring-byte-order"), (7, "server-duid")]);
}

#[test]
fn iaid_in_the_authoring_byte_order() {
    let ia = |order: &str| {
        format!(
            "{order}ia-na \"\\000\\000\\000\\007\\000\\003\\000\\001\\002\\000\\000\\000\\000\\001\" {{\n}}\n"
        )
    };
    assert_eq!(ias(&ia("authoring-byte-order big-endian;\n"))[0].iaid, 7);
    assert_eq!(ias(&ia(""))[0].iaid, 7 << 24, "little-endian by default");
    assert_eq!(
        ias(&ia("authoring-byte-order little-endian;\n"))[0].iaid,
        7 << 24
    );
}

#[test]
fn leases_of_an_ia() {
    let got = ias(SAMPLE6);
    let l = got[1].leases();
    assert_eq!(l.len(), 1);
    let l = l[0].as_ref().unwrap();
    assert_eq!(l.ia_type, lessor_store::IaType::Pd);
    assert_eq!(
        (l.iaid, l.prefix_len, l.valid, l.preferred),
        (2, 56, 3600, 1800)
    );
    assert_eq!(l.valid_end, Some(CLTT + 3600));
    assert_eq!(l.standing, crate::lease6::Standing::Active);
    let notes: Vec<&str> = l.notes.iter().map(|n| n.what.as_str()).collect();
    assert_eq!(notes, vec!["`on` event statement", "set ddns-fwd-name"]);

    let text = "ia-na \"\\001\\000\\000\\000\\000\\001\" {\n  iaaddr 2001:db8:1::1 { max-life 5; }\n  iaaddr 2001:db8:1::2 { binding state active; }\n  iaaddr 2001:db8:1::3 { binding state abandoned; }\n  iaaddr 2001:db8:1::4 { binding state free; ends never; }\n}\n";
    let got = ias(text)[0].leases();
    assert_eq!(
        got[0].as_ref().unwrap_err().why,
        "no `binding state` in the block"
    );
    assert_eq!(
        got[1].as_ref().unwrap_err().why,
        "active lease without `ends`"
    );
    let declined = got[2].as_ref().unwrap();
    assert_eq!(declined.standing, crate::lease6::Standing::Declined);
    assert_eq!(declined.valid_end, Some(0));
    assert_eq!(got[3].as_ref().unwrap().valid_end, None);
}

#[test]
fn ia_ta_is_reported_not_read() {
    let text = "ia-ta \"\\001\\000\\000\\000\\000\\001\" {\n  iaaddr 2001:db8:1::9 { binding state active; }\n}\n";
    let s = skipped(text);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].line, s[0].kind), (1, IA_TA));
    assert!(
        s[0].what.starts_with("ia-ta IAID 1 DUID 00:01"),
        "{}",
        s[0].what
    );
    assert!(ias(text).is_empty());
}

#[test]
fn the_other_family_is_skipped_with_the_flag_to_use() {
    let v4 = "lease 192.0.2.1 {\n  binding state active;\n}\n";
    let s = skipped(v4);
    assert_eq!(s.len(), 1);
    assert!(s[0].why.contains("--isc`"), "{}", s[0].why);
    assert_eq!(s[0].what, "lease 192.0.2.1");
    let r = parse(SAMPLE6);
    assert!(r.leases.is_empty());
    assert!(r
        .skipped
        .iter()
        .any(|s| s.what == "ia-na" && s.why.contains("--isc6")));
}

#[test]
fn malformed_blocks_name_the_line_and_reading_resumes() {
    let cases = [
        (
            // A bad date inside an iaaddr.
            "ia-na \"\\001\\000\\000\\000\\000\\001\" {\n  iaaddr 2001:db8:1::1 {\n    ends 4 2026/13/26 11:00:00;\n  }\n}\n",
            "line 3: invalid date `2026/13/26`",
            vec![("2001:db8:1::1".parse().unwrap(), 128)],
        ),
        (
            // The wrong kind of sub-block.
            "ia-na \"\\001\\000\\000\\000\\000\\001\" {\n  iaprefix 2001:db8::/56 { }\n}\n",
            "line 2: `iaprefix` inside an `ia-na` block",
            vec![],
        ),
        (
            // A key too short to hold an IAID and a DUID.
            "ia-pd \"\\001\\000\" {\n}\n",
            "line 1: IAID and DUID of 2 octet(s)",
            vec![],
        ),
        (
            // An escape beyond an octet in the key.
            "ia-pd \"\\777\\000\\000\\000\\001\" {\n}\n",
            "line 1: expected the IAID and DUID (a quoted string), found octal escape",
            vec![],
        ),
        (
            "ia-pd \"\\001\\000\\000\\000\\000\\001\" {\n  iaprefix 2001:db8::/129 { }\n}\n",
            "line 2: `2001:db8::/129` is not an IPv6 prefix",
            vec![],
        ),
        (
            "ia-na \"\\001\\000\\000\\000\\000\\001\" {\n  iaaddr 2001:db8:1::1 {\n    max-life 4294967296;\n  }\n}\n",
            "line 3: invalid lifetime `4294967296`",
            vec![("2001:db8:1::1".parse().unwrap(), 128)],
        ),
    ];
    let next = "ia-na \"\\002\\000\\000\\000\\000\\002\" {\n  iaaddr 2001:db8:1::2 {\n    binding state expired;\n  }\n}\n";
    for (bad, why, keys) in cases {
        let text = format!("{bad}{next}");
        let s = skipped(&text);
        assert_eq!(s.len(), 1, "{bad}: {s:?}");
        assert_eq!((s[0].line, s[0].kind), (1, MALFORMED_IA));
        assert!(s[0].why.starts_with(why), "{} / {why}", s[0].why);
        assert_eq!(s[0].v6_keys, keys);
        let got = ias(&text);
        assert_eq!(got.len(), 1, "{bad}");
        assert_eq!(got[0].iaid, 2);
    }
}

#[test]
fn unclosed_blocks() {
    // Not closed before the next IA: that one is read.
    let text = "ia-na \"\\001\\000\\000\\000\\000\\001\" {\n  iaaddr 2001:db8:1::1 {\n    binding state active;\nia-na \"\\002\\000\\000\\000\\000\\002\" {\n}\n";
    let s = skipped(text);
    assert_eq!(s.len(), 1);
    assert!(
        s[0].why.starts_with(
            "line 4: `ia-na` on line 4 inside the block opened on line 2: missing `}`"
        ),
        "{}",
        s[0].why
    );
    assert_eq!(ias(text).len(), 1);
    // Truncated file.
    let s = skipped("ia-pd \"\\001\\000\\000\\000\\000\\001\" {\n  iaprefix 2001:db8::/56 {\n    binding state active;");
    assert_eq!(s.len(), 1);
    assert!(
        s[0].why
            .contains("block opened on line 2 is not closed before end of input"),
        "{}",
        s[0].why
    );
}

fn check_invariants(s: &str) {
    // Never panics; every item has a line within the text.
    let lines = s.lines().count().max(1) + 1;
    for item in Reader::with_family(s.as_bytes(), Family::V6) {
        match item.unwrap() {
            Item::Ia(ia) => {
                assert!(ia.line <= lines);
                assert!(ia.duid.len() <= s.len());
                for l in ia.leases().into_iter().flatten() {
                    assert!(l.line <= lines);
                }
            }
            Item::Skipped(k) => assert!(k.line <= lines, "{k:?}"),
            Item::Lease(_) => panic!("a DHCPv6 reader returned a lease"),
        }
    }
}

#[test]
fn very_long_lines_and_declarations_are_bounded() {
    let mut text = String::from("ia-na \"");
    text.push_str(&"\\001".repeat(40_000));
    text.push_str("\" {\n}\n");
    text.push_str(SAMPLE6);
    let s = skipped(&text);
    assert!(s[0].what.contains("longer than 65536"), "{:?}", s[0]);
    assert_eq!(ias(&text).len(), 2);
}

proptest! {
    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check_invariants(&s);
    }

    #[test]
    fn token_soup_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("ia-na "), Just("ia-pd "), Just("ia-ta "), Just("\"\\001\\000\\000\\000\\000\\001\" "),
                Just("{"), Just("}"), Just(";"), Just("\""), Just("\\"), Just("\n"),
                Just("iaaddr "), Just("iaprefix "), Just("2001:db8::1 "), Just("2001:db8::/56 "),
                Just("binding state "), Just("active"), Just("max-life "), Just("preferred-life "),
                Just("7"), Just("ends "), Just("4 2026/11/26 11:00:00"), Just("never"),
                Just("cltt "), Just("set x = "), Just("on expiry "), Just("authoring-byte-order "),
                Just("big-endian"), Just("lease "),
            ],
            0..64,
        )
    ) {
        check_invariants(&parts.concat());
    }

    #[test]
    fn mutations_of_a_valid_file_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
    ) {
        let mut b = SAMPLE6.as_bytes().to_vec();
        for (at, v) in edits {
            let i = at % b.len();
            b[i] = v;
        }
        check_invariants(&String::from_utf8_lossy(&b));
    }
}
