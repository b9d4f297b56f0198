use super::*;
use proptest::prelude::*;

/// The shape isc-dhcp-4.4.3-P1 writes (checked with `dhcpd -t -T -lf`).
const SAMPLE: &str = r#"# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\000\001\000\001,\376\234\3652\000\000\000\000\001";

lease 198.51.100.100 {
  starts 1 2026/11/23 22:54:04;
  ends 1 2026/11/23 23:54:04;
  cltt 1 2026/11/23 22:54:04;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 02:00:00:00:00:01;
  uid "\001\002\000\000\000\000\001";
  set vendor-class-identifier = "MSFT 5.0";
  option agent.circuit-id "r0";
  option agent.remote-id 73:75:62:2d:31;
  client-hostname "host-1";
}
"#;

const T0: u64 = 1_795_474_444; // 2026-11-23 22:54:04 UTC

fn one(text: &str) -> IscLease {
    let r = parse(text);
    assert_eq!(r.leases.len(), 1, "{r:#?}");
    r.leases.into_iter().next().unwrap()
}

fn block(addr: &str, body: &str) -> String {
    format!("lease {addr} {{\n{body}}}\n")
}

#[test]
fn sample_block_all_fields() {
    let r = parse(SAMPLE);
    assert_eq!(r.leases.len(), 1);
    let l = &r.leases[0];
    assert_eq!(l.line, 9);
    assert_eq!(l.address, Ipv4Addr::new(198, 51, 100, 100));
    assert_eq!(l.starts, Some(T0));
    assert_eq!(l.ends, Some(T0 + 3600));
    assert!(!l.ends_never);
    assert_eq!(l.cltt, Some(T0));
    assert_eq!((l.tstp, l.tsfp, l.atsfp), (None, None, None));
    assert_eq!(l.binding_state, Some(BindingState::Active));
    assert_eq!(l.next_binding_state, Some(BindingState::Free));
    assert_eq!(l.rewind_binding_state, Some(BindingState::Free));
    assert_eq!(
        l.hardware,
        Some(Hardware {
            htype: 1,
            addr: vec![2, 0, 0, 0, 0, 1]
        })
    );
    assert_eq!(l.uid.as_deref(), Some(&[1, 2, 0, 0, 0, 0, 1][..]));
    assert_eq!(l.vendor_class_id.as_deref(), Some(&b"MSFT 5.0"[..]));
    assert_eq!(
        l.sets,
        vec![(
            "vendor-class-identifier".to_string(),
            SetValue::Text(b"MSFT 5.0".to_vec())
        )]
    );
    assert_eq!(l.circuit_id(), Some(&b"r0"[..]));
    assert_eq!(l.remote_id(), Some(&b"sub-1"[..]));
    assert_eq!(l.relay_id(), None);
    assert_eq!(l.client_hostname.as_deref(), Some("host-1"));
    assert!(l.notes.is_empty(), "{:?}", l.notes);
    assert_eq!(l.disposition(), Disposition::Import(ImportState::Active));

    let what: Vec<(usize, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.line, s.what.as_str()))
        .collect();
    assert_eq!(what, vec![(5, "authoring-byte-order"), (7, "server-duid")]);
}

#[test]
fn last_block_wins_in_order_of_last_appearance() {
    let text = [
        block(
            "192.0.2.1",
            "  binding state active;\n  hardware ethernet 02:00:00:00:00:01;\n",
        ),
        block(
            "192.0.2.2",
            "  binding state active;\n  hardware ethernet 02:00:00:00:00:02;\n",
        ),
        block(
            "192.0.2.1",
            "  binding state free;\n  hardware ethernet 02:00:00:00:00:03;\n",
        ),
    ]
    .concat();
    let r = parse(&text);
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    let got: Vec<(Ipv4Addr, Option<BindingState>, usize)> = r
        .leases
        .iter()
        .map(|l| (l.address, l.binding_state, l.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (Ipv4Addr::new(192, 0, 2, 2), Some(BindingState::Active), 5),
            (Ipv4Addr::new(192, 0, 2, 1), Some(BindingState::Free), 9),
        ]
    );
    assert_eq!(r.leases[1].hardware.as_ref().unwrap().addr[5], 3);
}

#[test]
fn later_malformed_block_drops_the_earlier_one() {
    let text = [
        block("192.0.2.1", "  binding state active;\n"),
        block("192.0.2.1", "  binding state bogus;\n"),
    ]
    .concat();
    let r = parse(&text);
    assert!(r.leases.is_empty());
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].line, 4);
    assert!(r.skipped[0]
        .why
        .starts_with("line 5: unknown binding state `bogus`"));
    assert!(r.skipped[0].why.contains("line 1"), "{}", r.skipped[0].why);
}

#[test]
fn epoch_time_format() {
    let l = one(
        "lease 192.0.2.9 {\n  starts epoch 1763938444; # Sun Nov 23 22:54:04 2025\n  \
         ends epoch 1763942044; # Sun Nov 23 23:54:04 2025\n  tstp epoch 1; # x\n  \
         tsfp epoch 2;\n  atsfp epoch 3;\n  cltt epoch 1763938444; # Sun Nov 23 22:54:04 2025\n  \
         binding state active;\n}\n",
    );
    assert_eq!(l.starts, Some(1_763_938_444));
    assert_eq!(l.ends, Some(1_763_942_044));
    assert_eq!((l.tstp, l.tsfp, l.atsfp), (Some(1), Some(2), Some(3)));
    assert_eq!(l.cltt, Some(1_763_938_444));
}

#[test]
fn calendar_dates() {
    let cases = [
        ("4 1970/01/01 00:00:00", 0),
        ("2 2000/02/29 00:00:00", 951_782_400),
        ("1 2026/11/23 22:54:04", T0),
        // The weekday is ignored on input, as in dhcpd, and may be absent.
        ("0 2026/11/23 22:54:04", T0),
        ("2026/11/23 22:54:04", T0),
    ];
    for (date, want) in cases {
        let l = one(&block("192.0.2.1", &format!("  starts {date};\n")));
        assert_eq!(l.starts, Some(want), "{date}");
    }
    let l = one(&block("192.0.2.1", "  ends never;\n  starts never;\n"));
    assert_eq!((l.ends, l.ends_never, l.starts), (None, true, None));

    for bad in [
        "1 2026/02/29 00:00:00",
        "1 2026/13/01 00:00:00",
        "1 2026/11/23 24:00:00",
        "1 1969/12/31 23:59:59",
        "9 2026/11/23 22:54:04",
        "1 2026/11/23",
        "1 2026-11-23 22:54:04",
        "epoch -5",
        "epoch 99999999999999999999999",
    ] {
        let r = parse(&block("192.0.2.1", &format!("  starts {bad};\n")));
        assert!(r.leases.is_empty(), "{bad}");
        assert_eq!(r.skipped.len(), 1, "{bad}: {:?}", r.skipped);
        assert!(
            r.skipped[0].why.starts_with("line 2: "),
            "{bad}: {:?}",
            r.skipped
        );
    }
}

#[test]
fn uid_both_forms_decode_to_the_same_bytes() {
    let octal = one(&block(
        "192.0.2.1",
        "  uid \"\\001\\002\\000\\000\\000\\000\\001\";\n",
    ));
    let hex = one(&block("192.0.2.1", "  uid 01:02:00:00:00:00:01;\n"));
    let short_hex = one(&block("192.0.2.1", "  uid 1:2:0:0:0:0:1;\n"));
    assert_eq!(octal.uid.as_deref(), Some(&[1, 2, 0, 0, 0, 0, 1][..]));
    assert_eq!(octal.uid, hex.uid);
    assert_eq!(octal.uid, short_hex.uid);

    // Printable bytes stay literal; escapes for quote, backslash and others.
    let l = one(&block(
        "192.0.2.1",
        "  uid \"\\000ab\\\"c\\\\d\\$\\x41\";\n",
    ));
    assert_eq!(l.uid.as_deref(), Some(&b"\0ab\"c\\d$A"[..]));

    let r = parse(&block("192.0.2.1", "  uid 01:02:xyz;\n"));
    assert!(r.leases.is_empty());
    assert!(r.skipped[0].why.contains("client identifier"));
}

#[test]
fn every_binding_state() {
    let names = [
        "free",
        "active",
        "expired",
        "released",
        "abandoned",
        "reset",
        "backup",
        "reserved",
        "bootp",
    ];
    for name in names {
        let l = one(&block(
            "192.0.2.1",
            &format!(
                "  binding state {name};\n  next binding state {name};\n  \
                 rewind binding state {name};\n"
            ),
        ));
        let st = BindingState::from_isc(name).unwrap();
        assert_eq!(st.as_isc(), name);
        assert_eq!(l.binding_state, Some(st));
        assert_eq!(l.next_binding_state, Some(st));
        assert_eq!(l.rewind_binding_state, Some(st));
    }
}

#[test]
fn dispositions() {
    let with_id = "  hardware ethernet 02:00:00:00:00:01;\n";
    let expect = [
        ("active", ImportState::Active),
        ("bootp", ImportState::Active),
        ("reserved", ImportState::Active),
        ("free", ImportState::Free),
        ("backup", ImportState::Free),
        ("reset", ImportState::Free),
        ("expired", ImportState::Expired),
        ("released", ImportState::Released),
        ("abandoned", ImportState::Abandoned),
    ];
    for (name, want) in expect {
        let l = one(&block(
            "192.0.2.1",
            &format!("  binding state {name};\n{with_id}"),
        ));
        assert_eq!(l.disposition(), Disposition::Import(want), "{name}");
        let anon = one(&block("192.0.2.1", &format!("  binding state {name};\n")));
        assert!(matches!(anon.disposition(), Disposition::Skip(_)), "{name}");
    }
    let uid_only = one(&block("192.0.2.1", "  binding state free;\n  uid 01:02;\n"));
    assert_eq!(
        uid_only.disposition(),
        Disposition::Import(ImportState::Free)
    );
    let no_state = one(&block("192.0.2.1", with_id));
    assert!(matches!(no_state.disposition(), Disposition::Skip(_)));
}

#[test]
fn hardware_types() {
    for (ty, htype) in [
        ("ethernet", 1),
        ("token-ring", 6),
        ("fddi", 8),
        ("infiniband", 32),
    ] {
        let l = one(&block("192.0.2.1", &format!("  hardware {ty} 0a:0b:0c;\n")));
        assert_eq!(
            l.hardware,
            Some(Hardware {
                htype,
                addr: vec![10, 11, 12]
            })
        );
    }
    for bad in [
        "hardware pigeon 01:02:03;",
        "hardware ethernet 01:02:003;",
        "hardware ethernet;",
        "hardware ethernet 00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10;",
    ] {
        let r = parse(&block("192.0.2.1", &format!("  {bad}\n")));
        assert!(r.leases.is_empty(), "{bad}");
        assert!(r.skipped[0].why.starts_with("line 2: "), "{:?}", r.skipped);
    }
}

#[test]
fn agent_options_and_sets() {
    let l = one(&block(
        "192.0.2.1",
        "  option agent.circuit-id 0:1:2:3;\n  option agent.remote-id \"eth0/1\";\n  \
         option agent.relay-id c0:0:2:1;\n  set ddns-fwd-name = \"h.example\";\n  \
         set ddns-txt = 31:32;\n  set counter = %42;\n  set flag = true;\n  \
         set expr = concat(\"a\", \"b\");\n",
    ));
    assert_eq!(l.circuit_id(), Some(&[0, 1, 2, 3][..]));
    assert_eq!(l.remote_id(), Some(&b"eth0/1"[..]));
    assert_eq!(l.relay_id(), Some(&[0xc0, 0, 2, 1][..]));
    let sets: Vec<(&str, &SetValue)> = l.sets.iter().map(|(n, v)| (n.as_str(), v)).collect();
    assert_eq!(
        sets,
        vec![
            ("ddns-fwd-name", &SetValue::Text(b"h.example".to_vec())),
            ("ddns-txt", &SetValue::Hex(vec![0x31, 0x32])),
            ("counter", &SetValue::Number(42)),
            ("flag", &SetValue::Bool(true)),
            ("expr", &SetValue::Other("concat( \"a\" , \"b\" )".into())),
        ]
    );

    // Option 82 persisted through `set` fills the fields when the options
    // themselves were not written; the `option` form wins when both exist.
    let l = one(&block(
        "192.0.2.1",
        "  set agent-circuit-id = \"c1\";\n  set agent-remote-id = 72:31;\n  \
         option agent.remote-id \"r-opt\";\n",
    ));
    assert_eq!(l.circuit_id(), Some(&b"c1"[..]));
    assert_eq!(l.remote_id(), Some(&b"r-opt"[..]));
    assert_eq!(l.sets.len(), 2);
}

/// The relay-id line ISC dhcpd 4.4.3 writes for sub-option 12 (issue 11, item 7).
const RELAY_ID_LINE: &str = "  option agent.unknown-12 0:3:0:1:2:0:0:5e:0:53:1;\n";

#[test]
fn relay_id_written_as_unknown_12_is_read() {
    let l = one(&block("192.0.2.1", RELAY_ID_LINE));
    assert_eq!(
        l.relay_id(),
        Some(&[0, 3, 0, 1, 2, 0, 0, 0x5e, 0, 0x53, 1][..])
    );
    assert!(l.notes.is_empty(), "{:?}", l.notes);
}

/// A block as isc-dhcp-4.4.3-P1 wrote it for a relay that sent sub-options 12, 2, 1, 9, 3, 4,
/// 19 (empty) and 5, in that order (captured from the e2e harness's dhcpd).
const EVERY_AGENT_FORMAT: &str = "lease 192.0.2.101 {
  starts 3 2026/12/02 17:10:05;
  ends 3 2026/12/02 17:20:05;
  cltt 3 2026/12/02 17:10:05;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 02:00:00:00:0e:02;
  set lsr-circuit-id = \"x\";
  option agent.unknown-12 0:1;
  option agent.remote-id 0:ff:61:62;
  option agent.circuit-id \"x\";
  option agent.unknown-9 0:0:0:9:2:1:1;
  option agent.agent-id 198.51.100.7;
  option agent.DOCSIS-device-class 5;
  option agent.link-selection 192.0.2.1;
}
";

#[test]
fn every_agent_sub_option_in_file_order() {
    let l = one(EVERY_AGENT_FORMAT);
    let subs: Vec<(u8, &[u8])> = l.agent.iter().map(|s| (s.code, &s.data[..])).collect();
    assert_eq!(
        subs,
        vec![
            (12, &[0, 1][..]),
            (2, &[0, 0xff, b'a', b'b'][..]),
            (1, &b"x"[..]),
            (9, &[0, 0, 0, 9, 2, 1, 1][..]),
            (3, &[198, 51, 100, 7][..]),
            (4, &[0, 0, 0, 5][..]),
            (5, &[192, 0, 2, 1][..]),
        ]
    );
    assert!(l.notes.is_empty(), "{:?}", l.notes);
    // ISC does not write an empty sub-option (19 was sent, not written); read if present.
    let l = one(&block("192.0.2.1", "  option agent.relay-port;\n"));
    assert_eq!(l.sub_option(19), Some(&[][..]));
}

#[test]
fn agent_values_that_do_not_read_make_the_block_malformed() {
    for (bad, why) in [
        (
            "option agent.unknown-12 0:3:xyz;",
            "invalid agent.unknown-12 `0:3:xyz`",
        ),
        (
            "option agent.link-selection 192.0.2;",
            "not an IPv4 address",
        ),
        (
            "option agent.DOCSIS-device-class 4294967296;",
            "not a 32-bit",
        ),
        ("option agent.unknown-12;", "expected agent.unknown-12"),
    ] {
        let r = parse(&block("192.0.2.1", &format!("  {bad}\n")));
        assert!(r.leases.is_empty(), "{bad}");
        assert!(
            r.skipped[0].why.starts_with("line 2: ") && r.skipped[0].why.contains(why),
            "{bad}: {:?}",
            r.skipped
        );
    }
    // Names that are no sub-option are noted, not fatal.
    let l = one(&block(
        "192.0.2.1",
        "  option agent.unknown-300 1;\n  option agent.bogus 1;\n",
    ));
    let notes: Vec<String> = l.notes.iter().map(Note::to_string).collect();
    assert_eq!(
        notes,
        [
            "line 2: option agent.unknown-300 (no such relay agent sub-option)",
            "line 3: option agent.bogus (no such relay agent sub-option)",
        ]
    );
}

#[test]
fn set_agent_variables_follow_the_option_lines() {
    let l = one(&block(
        "192.0.2.1",
        &format!("  set agent-relay-id = \"r\";\n  set agent-circuit-id = \"c\";\n{RELAY_ID_LINE}"),
    ));
    let codes: Vec<u8> = l.agent.iter().map(|s| s.code).collect();
    // 12 from its option line (which wins over the variable), then 1 from its variable.
    assert_eq!(codes, vec![12, 1]);
    assert_eq!(l.relay_id().map(<[u8]>::len), Some(11));
}

#[test]
fn a_declaration_longer_than_the_limit_is_skipped_and_reading_goes_on() {
    let mut text = String::from("lease 192.0.2.1 {\n  binding state active;\n}\n");
    text.push_str("lease 192.0.2.1 {\n");
    let line = "  set x = \"0123456789012345678901234567890123456789\";\n";
    for _ in 0..source::MAX_DECLARATION / line.len() + 1 {
        text.push_str(line);
    }
    text.push_str("}\nlease 192.0.2.2 {\n  binding state active;\n}\n");
    let r = parse(&text);
    let addrs: Vec<Ipv4Addr> = r.leases.iter().map(|l| l.address).collect();
    assert_eq!(addrs, vec![Ipv4Addr::new(192, 0, 2, 2)]);
    assert_eq!(r.skipped.len(), 1);
    let s = &r.skipped[0];
    assert_eq!(
        (s.line, s.what.as_str(), s.kind),
        (4, "lease 192.0.2.1", MALFORMED_LEASE)
    );
    assert!(s.why.contains("longer than 256 KiB"), "{s:?}");
    // The earlier block for the address is dropped too, as for any malformed later block.
    assert!(s.why.contains("earlier block on line 1"), "{s:?}");
}

#[test]
fn an_overlong_line_makes_its_block_malformed() {
    let text = format!(
        "lease 192.0.2.1 {{\n  client-hostname \"{}\";\n}}\nlease 192.0.2.2 {{\n}}\n",
        "h".repeat(source::MAX_LINE)
    );
    let r = parse(&text);
    assert_eq!(r.leases.len(), 1);
    assert_eq!(r.skipped.len(), 1);
    assert!(
        r.skipped[0]
            .why
            .starts_with("line 2: expected a statement, found line longer than 65536 bytes"),
        "{:?}",
        r.skipped
    );
}

#[test]
fn a_block_left_open_before_the_next_declaration_in_a_later_piece() {
    // The reader cuts the file before each declaration; the lookahead keeps the message the
    // same as for a block open at the end of the file.
    let r = parse("lease 192.0.2.1 {\n  binding state active;\nhost h {\n}\n");
    assert_eq!(r.skipped.len(), 2);
    assert!(r.skipped[0]
        .why
        .starts_with("line 3: `host` on line 3 inside the block opened on line 1: missing `}`"));
    assert_eq!(r.skipped[1].what, "host h");
}

#[test]
fn on_statements_abandoned_and_unknown_are_noted() {
    let l = one(
        "lease 192.0.2.5 {\n  starts 1 2026/11/23 22:54:04;\n  on expiry or release {\n    \
         set ClientIP = binary-to-ascii(10, 8, \".\", leased-address);\n    \
         log (info, \"gone\");\n  }\n  abandoned;\n  billing class \"x\";\n  \
         option domain-name \"example\";\n  bootp;\n  reserved;\n}\n",
    );
    assert_eq!(l.starts, Some(T0));
    assert_eq!(l.binding_state, Some(BindingState::Abandoned));
    assert!(l.bootp && l.reserved);
    assert_eq!(l.notes.len(), 4, "{:?}", l.notes);
    let notes: Vec<String> = l.notes.iter().map(Note::to_string).collect();
    assert_eq!(
        notes,
        [
            "line 3: `on` event statement",
            "line 7: `abandoned;` (read as `binding state abandoned`)",
            "line 8: statement `billing`",
            "line 9: option domain-name",
        ]
    );
    assert!(l.sets.is_empty());
}

#[test]
fn malformed_blocks_are_skipped_with_line_numbers_and_the_rest_kept() {
    let text = "\
lease 192.0.2.1 {
  binding state active;
}
lease 192.0.2.2 {
  starts 1 2026/99/23 22:54:04;
  binding state active;
}
lease 192.0.2.3 {
  binding state active;
lease 192.0.2.4 {
  client-hostname \"unterminated;
  binding state active;
}
lease 999.0.2.5 {
  binding state active;
}
lease 2001:db8::6 {
  binding state active;
}
lease 192.0.2.7 {
  hardware ethernet 02:00:00:00:00:07
}
lease 192.0.2.8 {
  binding state active;
}
} ;
lease 192.0.2.9 {
  binding state active;
";
    let r = parse(text);
    let addrs: Vec<String> = r.leases.iter().map(|l| l.address.to_string()).collect();
    assert_eq!(addrs, vec!["192.0.2.1", "192.0.2.8"]);
    let got: Vec<(usize, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.line, s.what.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (4, "lease 192.0.2.2"),
            (8, "lease 192.0.2.3"),
            (10, "lease 192.0.2.4"),
            (14, "lease 999.0.2.5"),
            (17, "lease 2001:db8::6"),
            (20, "lease 192.0.2.7"),
            (26, "`}`"),
            (26, "`;`"),
            (27, "lease 192.0.2.9"),
        ]
    );
    let why: Vec<&str> = r.skipped.iter().map(|s| s.why.as_str()).collect();
    assert!(why[0].starts_with("line 5: invalid date"), "{}", why[0]);
    assert!(why[1].starts_with("line 10: `lease` on line 10 inside the block opened on line 8"));
    assert!(why[2].starts_with("line 11: expected a host name, found unterminated"));
    assert!(why[3].starts_with("line 14: `999.0.2.5` is not an IPv4 address"));
    assert!(why[4].contains("DHCPv6"));
    assert!(why[5].starts_with("line 22: expected `;`, found `}`"));
    assert!(
        why[8].contains("not closed before end of input"),
        "{}",
        why[8]
    );
}

const V6: &str = r#"# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\000\001\000\001,\376\234\3652\000\000\000\000\001";

ia-na "\001\000\000\000\000\001\000\001,\376\235\001\002\000\000\000\000\001" {
  cltt 1 2026/11/23 22:54:04;
  iaaddr 2001:db8::100 {
    binding state active;
    preferred-life 375;
    max-life 600;
    ends 1 2026/11/23 23:04:04;
  }
}

ia-pd "\001\000\000\000\000\001\000\001" {
  cltt 1 2026/11/23 22:54:04;
  iaprefix 2001:db8:1::/56 {
    binding state active;
    preferred-life 375;
    max-life 600;
    ends 1 2026/11/23 23:04:04;
    set foo = "bar";
  }
}
"#;

#[test]
fn v6_blocks_are_skipped_with_reasons() {
    let r = parse(V6);
    assert!(r.leases.is_empty());
    let got: Vec<(usize, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.line, s.what.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (5, "authoring-byte-order"),
            (7, "server-duid"),
            (9, "ia-na"),
            (19, "ia-pd"),
        ]
    );
    assert!(r.skipped[2].why.contains("DHCPv6"));
    assert!(r.skipped[3].why.contains("DHCPv6"));
}

#[test]
fn failover_host_and_class_declarations_are_skipped() {
    let text = "\
failover peer \"dhcp-failover\" state {
  my state normal at 1 2026/11/23 22:54:04;
  partner state normal at 1 2026/11/23 22:54:04;
}

host printer {
  dynamic;
  hardware ethernet 02:00:00:00:00:99;
  fixed-address 192.0.2.99;
}
host printer { dynamic; deleted; }

subclass \"vendor\" \"MSFT 5.0\";
lease 192.0.2.1 {
  binding state active;
}
";
    let r = parse(text);
    assert_eq!(r.leases.len(), 1);
    let got: Vec<(usize, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.line, s.what.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "failover peer"),
            (6, "host printer"),
            (11, "host printer"),
            (13, "subclass"),
        ]
    );
    assert!(r.skipped[0].why.contains("failover"));
    assert!(r.skipped[1].why.contains("host declaration"));
}

#[test]
fn whitespace_and_comments_are_free_form() {
    let l = one(
        "lease\t192.0.2.1{starts 1 2026/11/23 22:54:04;#c\nbinding\nstate\r\nactive ;  \
         uid \"#not a comment\";}",
    );
    assert_eq!(l.starts, Some(T0));
    assert_eq!(l.binding_state, Some(BindingState::Active));
    assert_eq!(l.uid.as_deref(), Some(&b"#not a comment"[..]));
}

#[test]
fn empty_and_trivial_inputs() {
    for text in [
        "",
        "\n\n",
        "# only a comment",
        "lease",
        "{",
        "}",
        "\"",
        ";;;",
    ] {
        let r = parse(text);
        assert!(r.leases.is_empty(), "{text:?}");
    }
    assert!(parse("").skipped.is_empty());
}

fn check_invariants(text: &str) {
    let r = parse(text);
    let lines = text.split('\n').count();
    let mut seen = std::collections::HashSet::new();
    for l in &r.leases {
        assert!(seen.insert(l.address), "duplicate {}", l.address);
        assert!(l.line >= 1 && l.line <= lines);
    }
    for s in &r.skipped {
        assert!(s.line >= 1 && s.line <= lines, "{s:?}");
        assert!(s.what.len() <= 200 && !s.why.is_empty());
    }
    // Each lease and skip consumes at least one token; tokens <= bytes.
    assert!(r.leases.len() + r.skipped.len() <= text.len());
}

fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut b = base.as_bytes().to_vec();
    for &(pos, op, byte) in edits {
        if b.is_empty() {
            break;
        }
        let pos = pos % b.len();
        let c = b"{};\"#=\\ \nlease0123456789:/."[usize::from(byte) % 27];
        match op % 4 {
            0 => {
                b.remove(pos);
            }
            1 => b.insert(pos, c),
            2 => b[pos] = c,
            _ => b.truncate(pos),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
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
                Just("lease "), Just("192.0.2.1 "), Just("{"), Just("}"), Just(";"),
                Just("\""), Just("\\"), Just("#"), Just("\n"), Just("binding state "),
                Just("active"), Just("starts "), Just("1 2026/11/23 22:54:04"),
                Just("epoch "), Just("never"), Just("set x = "), Just("uid "),
                Just("01:02"), Just("\\777"), Just("host "), Just("ia-na "),
            ],
            0..64,
        )
    ) {
        check_invariants(&parts.concat());
    }

    #[test]
    fn mutations_of_a_valid_file_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)
    ) {
        let base = format!("{SAMPLE}{V6}{}", block("192.0.2.7", "  binding state free;\n"));
        check_invariants(&mutate(&base, &edits));
    }
}
