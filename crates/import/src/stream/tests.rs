use super::*;
use crate::isc::parse;
use lessor_store::{HwAddr, Loaded, Loaded4};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

const NOW: Timestamp = 1_795_474_444; // 2026-11-23 22:54:04 UTC

fn subnets() -> Vec<Ipv4Net> {
    vec!["192.0.2.0/24".parse().unwrap()]
}

/// A backend that keeps rows in a map, as SQLite would, and counts transactions.
#[derive(Default)]
struct Rows {
    rows: BTreeMap<Ipv4Addr, Binding4>,
    transactions: usize,
    fail: bool,
}

impl Backend for Rows {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded {
            v4: Loaded4 {
                bindings: self.rows.values().cloned().collect(),
            },
            ..Default::default()
        })
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        if self.fail {
            return Err(StoreError::db("test", io::Error::other("disk full")));
        }
        self.transactions += 1;
        for c in changes {
            match c {
                Change::V4(Change4::Upsert(b)) => {
                    self.rows.insert(b.address, (**b).clone());
                }
                Change::V4(Change4::Delete(a)) => {
                    self.rows.remove(a);
                }
                // The import writes DHCPv4 bindings only.
                Change::V6(_) => unreachable!("an import of DHCPv4 leases wrote a DHCPv6 change"),
            }
        }
        Ok(())
    }
}

/// A file holding `text`, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(text: &str) -> TempFile {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "lessor-import-{}-{}.leases",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&p, text).unwrap();
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

fn import(text: &str, rows: &mut Rows) -> Result<Report, ImportError> {
    let f = TempFile::new(text);
    let subnets = subnets();
    let target = Target {
        subnets: &subnets,
        now: NOW,
    };
    import_isc(&f.0, Some(rows), target)
}

fn lease(addr: &str, state: &str, mac: u8, extra: &str) -> String {
    format!(
        "lease {addr} {{\n  starts 1 2026/11/23 22:54:04;\n  ends 1 2026/11/23 23:54:04;\n  \
         binding state {state};\n  next binding state free;\n  \
         hardware ethernet 02:00:00:00:00:{mac:02x};\n{extra}}}\n"
    )
}

/// What the stored rows must be: the bindings of the last blocks that `parse` keeps, with the
/// time their state began. Their place in the transaction order is left out ([`unordered`]):
/// [`last_block_wins_and_the_report_counts_last_blocks`] checks it follows the file.
fn expected(text: &str, before: &BTreeMap<Ipv4Addr, Binding4>) -> BTreeMap<Ipv4Addr, Binding4> {
    let mut rows = unordered(before);
    for l in parse(text).leases {
        if let Ok(mut b) = to_store::binding4(&l, &subnets(), NOW) {
            b.state_since = b.implied_state_since();
            rows.insert(b.address, b);
        }
    }
    rows
}

/// `rows` without their transaction order (sequence 0).
fn unordered(rows: &BTreeMap<Ipv4Addr, Binding4>) -> BTreeMap<Ipv4Addr, Binding4> {
    rows.iter()
        .map(|(a, b)| {
            let mut b = b.clone();
            b.sequence = 0;
            (*a, b)
        })
        .collect()
}

#[test]
fn last_block_wins_and_the_report_counts_last_blocks() {
    let text = [
        lease("192.0.2.1", "active", 1, "  option domain-name \"a\";\n"),
        lease("192.0.2.2", "active", 2, ""),
        lease("192.0.2.1", "released", 3, "  option domain-name \"b\";\n"),
    ]
    .concat();
    let mut rows = Rows::default();
    let r = import(&text, &mut rows).unwrap();
    assert_eq!(unordered(&rows.rows), expected(&text, &BTreeMap::new()));
    // The file's order is the transaction order: .1's last block comes after .2's.
    let seq = |a| rows.rows[&Ipv4Addr::new(192, 0, 2, a)].sequence;
    assert!(seq(1) > seq(2) && seq(2) > 0, "{} {}", seq(1), seq(2));
    assert_eq!(
        rows.rows[&Ipv4Addr::new(192, 0, 2, 1)].state,
        State4::Released
    );
    assert_eq!((r.lease_blocks, r.addresses), (3, 2));
    assert_eq!(r.imported_total(), 2);
    assert_eq!(r.replaced, Some(0));
    let g = r.not_imported.get("option domain-name").unwrap();
    assert_eq!((g.count, g.first_line()), (1, 22));
    let g = r
        .not_imported
        .get("next binding state (Lessor's own expiry decides)");
    assert_eq!(g.map(|g| (g.count, g.first_line())), Some((2, 9)));
}

#[test]
fn a_later_block_not_imported_undoes_the_earlier_write() {
    let mut old = Binding4::new(
        Ipv4Addr::new(192, 0, 2, 2),
        subnets()[0],
        HwAddr::ethernet([2, 0, 0, 0, 0, 9]),
        State4::Active,
    );
    old.cltt = 7;
    let mut rows = Rows::default();
    rows.rows.insert(old.address, old.clone());
    let text = [
        lease("192.0.2.1", "active", 1, ""),
        lease("192.0.2.2", "active", 2, ""),
        lease("192.0.2.3", "active", 3, ""),
        // 192.0.2.1: malformed later block; 192.0.2.2: a later block without a client.
        "lease 192.0.2.1 {\n  binding state bogus;\n}\n".to_string(),
        "lease 192.0.2.2 {\n  binding state free;\n}\n".to_string(),
    ]
    .concat();
    let before = rows.rows.clone();
    let r = import(&text, &mut rows).unwrap();
    assert_eq!(unordered(&rows.rows), expected(&text, &before));
    // .1 was not there before: deleted again; .2 was: the old binding is back.
    assert!(!rows.rows.contains_key(&Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(rows.rows[&Ipv4Addr::new(192, 0, 2, 2)], old);
    assert_eq!(r.imported_total(), 1);
    let malformed = r.skipped.get(MALFORMED_LEASE).unwrap();
    assert_eq!(malformed.count, 1);
    assert!(
        malformed.examples[0]
            .1
            .contains("the earlier block on line 1"),
        "{malformed:?}"
    );
    let g = r
        .skipped
        .get("not active and no hardware address or uid: nothing to remember")
        .unwrap();
    assert_eq!(g.examples, vec![(25, "lease 192.0.2.2".to_string())]);
}

#[test]
fn replaced_counts_addresses_the_store_held() {
    let mut rows = Rows::default();
    import(&lease("192.0.2.1", "active", 1, ""), &mut rows).unwrap();
    let text = [
        lease("192.0.2.1", "active", 2, ""),
        lease("192.0.2.1", "active", 3, ""),
        lease("192.0.2.5", "active", 5, ""),
    ]
    .concat();
    let r = import(&text, &mut rows).unwrap();
    assert_eq!(r.replaced, Some(1));
    assert_eq!(rows.rows.len(), 2);
    assert_eq!(rows.rows[&Ipv4Addr::new(192, 0, 2, 1)].hw.chaddr()[5], 3);
}

#[test]
fn dry_run_writes_nothing_and_reports_the_same() {
    let text = [
        lease("192.0.2.1", "active", 1, ""),
        lease("198.51.100.1", "active", 2, ""),
    ]
    .concat();
    let f = TempFile::new(&text);
    let subnets = subnets();
    let target = Target {
        subnets: &subnets,
        now: NOW,
    };
    let dry = import_isc(&f.0, None, target).unwrap();
    let mut rows = Rows::default();
    let wet = import_isc(&f.0, Some(&mut rows), target).unwrap();
    assert_eq!((dry.replaced, wet.replaced), (None, Some(0)));
    assert_eq!(
        dry.to_string().replace("would import", "imported"),
        wet.to_string()
    );
    assert_eq!(rows.rows.len(), 1);
}

#[test]
fn writes_in_transactions_of_batch() {
    let mut text = String::new();
    for i in 0..BATCH as u32 + 1 {
        let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + i);
        text.push_str(&format!("lease {a} {{ binding state free; uid 01; }}\n"));
    }
    let f = TempFile::new(&text);
    let subnets = vec!["10.0.0.0/8".parse().unwrap()];
    let target = Target {
        subnets: &subnets,
        now: NOW,
    };
    let mut rows = Rows::default();
    let r = import_isc(&f.0, Some(&mut rows), target).unwrap();
    assert_eq!(r.imported_total(), BATCH as u64 + 1);
    assert_eq!((rows.rows.len(), rows.transactions), (BATCH + 1, 2));
}

#[test]
fn a_store_error_stops_the_import() {
    let mut rows = Rows {
        fail: true,
        ..Rows::default()
    };
    let e = import(&lease("192.0.2.1", "active", 1, ""), &mut rows).unwrap_err();
    assert!(e.to_string().contains("disk full"), "{e}");
    let missing = Target {
        subnets: &[],
        now: NOW,
    };
    let e = import_isc(Path::new("/nonexistent/dhcpd.leases"), None, missing).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("/nonexistent/dhcpd.leases: cannot read"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the mix of blocks for a few addresses (well-formed, malformed, not importable),
    /// the rows written are those of the last blocks, as `parse` decides.
    #[test]
    fn rows_are_those_of_the_last_blocks(
        blocks in proptest::collection::vec((0u8..4, 0u8..5), 0..24),
        held in proptest::collection::vec(0u8..4, 0..3),
    ) {
        let mut rows = Rows::default();
        for h in held {
            let b = Binding4::new(
                Ipv4Addr::new(192, 0, 2, h),
                subnets()[0],
                HwAddr::ethernet([2, 0, 0, 0, 1, h]),
                State4::Expired,
            );
            rows.rows.insert(b.address, b);
        }
        let text: String = blocks
            .iter()
            .enumerate()
            .map(|(i, &(a, kind))| {
                let addr = format!("192.0.2.{a}");
                match kind {
                    0 => lease(&addr, "active", i as u8, ""),
                    1 => lease(&addr, "released", i as u8, ""),
                    2 => format!("lease {addr} {{\n  binding state bogus;\n}}\n"),
                    3 => format!("lease {addr} {{\n  binding state free;\n}}\n"),
                    _ => format!("lease {addr} {{\n  binding state active;\n"),
                }
            })
            .collect();
        let before = rows.rows.clone();
        import(&text, &mut rows).unwrap();
        prop_assert_eq!(&unordered(&rows.rows), &expected(&text, &before));
    }
}

#[test]
fn kinds_of_statements_not_imported_are_bounded() {
    let mut text = String::new();
    for i in 0..MAX_KINDS as u32 + 50 {
        let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + i);
        text.push_str(&format!(
            "lease {a} {{ binding state free; uid 01; option x-{i} 1; }}\n"
        ));
    }
    let f = TempFile::new(&text);
    let subnets = vec!["10.0.0.0/8".parse().unwrap()];
    let target = Target {
        subnets: &subnets,
        now: NOW,
    };
    let r = import_isc(&f.0, None, target).unwrap();
    let groups = r.not_imported.groups();
    assert_eq!(groups.len(), MAX_KINDS);
    assert_eq!(r.not_imported.total(), MAX_KINDS as u64 + 50);
    let other = r.not_imported.get(OTHER_KINDS).unwrap();
    assert_eq!((other.count, other.first_line()), (51, MAX_KINDS));
}

fn import_kea(text: &str, rows: Option<&mut Rows>) -> Report {
    let f = TempFile::new(text);
    let subnets = subnets();
    let target = Target {
        subnets: &subnets,
        now: NOW,
    };
    let backend = rows.map(|r| r as &mut dyn Backend);
    import4(&f.0, Source4::Kea, backend, target).unwrap()
}

#[test]
fn kea_rows_import_as_isc_blocks_do() {
    // the kea tests' sample (Kea 2.2's rows), plus a row outside the subnet and a malformed one
    let text = format!(
        "{}198.51.100.9,02:00:00:00:00:09,,900,1796325996,2,0,0,,0,\n\
         192.0.2.105,02:00:00:00:00:05,,900,1796325996,1,0,0,,x,\n",
        crate::kea::tests4::SAMPLE4
    );
    let mut rows = Rows::default();
    let before = Binding4::new(
        "192.0.2.100".parse().unwrap(),
        subnets()[0],
        HwAddr::new(1, &[2, 0, 0, 0, 0, 0x99]).unwrap(),
        State4::Active,
    );
    rows.rows.insert(before.address, before.clone());
    let report = import_kea(&text, Some(&mut rows));
    assert_eq!(report.wording, Wording::Kea4);
    let shown = report.to_string();
    assert!(
        shown.starts_with(
            "8 row(s) for 6 address(es) (the last row of an address wins)\n\
             imported 2: 2 active\n\
             skipped 4\n"
        ),
        "{shown}"
    );
    for part in [
        "  not active and no hardware address or uid: nothing to remember: 1\n    line 4: lease 192.0.2.104\n",
        "  Kea's record of a deleted lease (valid lifetime 0): the address has no lease: 1\n    \
         line 7: row 192.0.2.100: Kea's record of a deleted lease (valid lifetime 0): the address \
         has no lease; the earlier block on line 2 for this address is dropped too",
        "  outside every configured subnet: 1\n    line 8: lease 198.51.100.9\n",
        "  malformed row: 1\n    line 9: row 192.0.2.105: `state`: not a number: \"x\"; the \
         earlier block on line 5 for this address is dropped too",
        "not imported from the leases imported (2 statement(s); kind: count, first line):\n  \
         fqdn_fwd/fqdn_rev (DNS updates done by Kea): 1, first on line 6\n  \
         user context (other than relay agent information): 1, first on line 6\n",
    ] {
        assert!(shown.contains(part), "{part}\n---\n{shown}");
    }
    assert_eq!(report.replaced, Some(0));
    // The deleted row put back what the store held; the last rows of .103 and .106 are in.
    let got: Vec<Ipv4Addr> = rows.rows.keys().copied().collect();
    let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    assert_eq!(
        got,
        vec![a("192.0.2.100"), a("192.0.2.103"), a("192.0.2.106")]
    );
    assert_eq!(rows.rows[&a("192.0.2.100")].hw, before.hw);
    let b = &rows.rows[&a("192.0.2.103")];
    assert_eq!(b.remote_id(), Some(&b"rid-K4"[..]));
    assert_eq!(
        b.relay_agent_information(),
        Some(&hex("010573632D6B3402067269642D4B340C0A0003000102000000AA01")[..])
    );
    assert_eq!(
        (b.start, b.end, b.cltt),
        (1796325997 - 900, 1796325997, 1796325997 - 900)
    );
    let b = &rows.rows[&a("192.0.2.106")];
    assert_eq!(b.hostname(), Some(&b"pc,6.example.org"[..]));
    assert_eq!(b.client_id(), Some(&[1, 2, 0, 0, 0, 0, 6][..]));
    assert_eq!(b.circuit_id(), Some(&b"r0"[..]));

    // a dry run reports the same and writes nothing
    let dry = import_kea(&text, None);
    assert_eq!(dry.imported, report.imported);
    assert_eq!(dry.replaced, None);
}

fn hex(s: &str) -> Vec<u8> {
    lessor_wire::hex::parse(s).unwrap()
}
