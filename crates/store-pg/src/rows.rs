//! The rows of `lease4` and `lease6`: every field of [`Binding4`] and [`Binding6`] in a column
//! of its own, read one row at a time (a row that does not decode is reported, never fatal) and
//! written as columns of arrays (`unnest`), one statement per family per group commit. The
//! field rules (lengths, states, DUID and relay limits) are the bindings' own: decoding goes
//! through their constructors and `set_fields`, as the SQLite codec does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use postgres::Row;

use lessor_store::{
    Binding4, Binding6, Fields4, Fields6, HwAddr, IaType, Key6, State4, State6, Timestamp,
};

/// A tombstone's state: the row of a deleted binding, kept so that followers learn of the
/// delete and later guards compare against its number (docs/protocol.md, decision
/// "PostgreSQL: tombstones").
pub(crate) const DELETED: &str = "deleted";

/// `lease4`'s columns as read, `revision` last.
pub(crate) const COLUMNS4: &str = "address, state, htype, chaddr, client_id, lease_start, \
     lease_end, t1, t2, cltt, state_since, sequence, relay_agent_info, circuit_id, remote_id, \
     relay_id, vendor_class_id, hostname, subnet, revision";

/// `lease6`'s columns as read, `revision` last.
pub(crate) const COLUMNS6: &str = "address, prefix_len, ia_type, iaid, state, link, duid, \
     lease_start, preferred_end, valid_end, t1, t2, cltt, state_since, sequence, relay_peer, \
     relay_chain, interface_id, remote_id, relay_id, revision";

/// Writes a group's `lease4` rows (live and tombstones); `$20` is the writer's node name.
/// A tombstone's `state_since` is NULL here and becomes the database's clock.
pub(crate) const UPSERT4: &str = "INSERT INTO lease4 (address, state, htype, chaddr, client_id, \
     lease_start, lease_end, t1, t2, cltt, state_since, sequence, relay_agent_info, circuit_id, \
     remote_id, relay_id, vendor_class_id, hostname, subnet, revision, writer) \
     SELECT u.address, u.state, u.htype, u.chaddr, u.client_id, u.lease_start, u.lease_end, \
     u.t1, u.t2, u.cltt, coalesce(u.state_since, extract(epoch FROM now())::bigint), \
     u.sequence, u.relay_agent_info, u.circuit_id, u.remote_id, u.relay_id, u.vendor_class_id, \
     u.hostname, u.subnet, nextval('lease_revision'), $20 \
     FROM unnest($1::inet[], $2::text[], $3::smallint[], $4::bytea[], $5::bytea[], \
     $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], \
     $12::bigint[], $13::bytea[], $14::bytea[], $15::bytea[], $16::bytea[], $17::bytea[], \
     $18::bytea[], $19::text[]) WITH ORDINALITY AS u(address, state, htype, chaddr, client_id, \
     lease_start, lease_end, t1, t2, cltt, state_since, sequence, relay_agent_info, circuit_id, \
     remote_id, relay_id, vendor_class_id, hostname, subnet, n) ORDER BY u.n \
     ON CONFLICT (address) DO UPDATE SET state = EXCLUDED.state, htype = EXCLUDED.htype, \
     chaddr = EXCLUDED.chaddr, client_id = EXCLUDED.client_id, \
     lease_start = EXCLUDED.lease_start, lease_end = EXCLUDED.lease_end, t1 = EXCLUDED.t1, \
     t2 = EXCLUDED.t2, cltt = EXCLUDED.cltt, state_since = EXCLUDED.state_since, \
     sequence = EXCLUDED.sequence, relay_agent_info = EXCLUDED.relay_agent_info, \
     circuit_id = EXCLUDED.circuit_id, remote_id = EXCLUDED.remote_id, \
     relay_id = EXCLUDED.relay_id, vendor_class_id = EXCLUDED.vendor_class_id, \
     hostname = EXCLUDED.hostname, subnet = EXCLUDED.subnet, revision = EXCLUDED.revision, \
     writer = EXCLUDED.writer";

/// Writes a group's `lease6` rows; `$21` is the writer's node name.
pub(crate) const UPSERT6: &str = "INSERT INTO lease6 (address, prefix_len, ia_type, iaid, state, \
     link, duid, lease_start, preferred_end, valid_end, t1, t2, cltt, state_since, sequence, \
     relay_peer, relay_chain, interface_id, remote_id, relay_id, revision, writer) \
     SELECT u.address, u.prefix_len, u.ia_type, u.iaid, u.state, u.link, u.duid, u.lease_start, \
     u.preferred_end, u.valid_end, u.t1, u.t2, u.cltt, \
     coalesce(u.state_since, extract(epoch FROM now())::bigint), u.sequence, u.relay_peer, \
     u.relay_chain, u.interface_id, u.remote_id, u.relay_id, nextval('lease_revision'), $21 \
     FROM unnest($1::inet[], $2::smallint[], $3::text[], $4::bigint[], $5::text[], $6::text[], \
     $7::bytea[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], \
     $13::bigint[], $14::bigint[], $15::bigint[], $16::inet[], $17::bytea[], $18::bytea[], \
     $19::bytea[], $20::bytea[]) WITH ORDINALITY AS u(address, prefix_len, ia_type, iaid, \
     state, link, duid, lease_start, preferred_end, valid_end, t1, t2, cltt, state_since, \
     sequence, relay_peer, relay_chain, interface_id, remote_id, relay_id, n) ORDER BY u.n \
     ON CONFLICT (address, prefix_len) DO UPDATE SET ia_type = EXCLUDED.ia_type, \
     iaid = EXCLUDED.iaid, state = EXCLUDED.state, link = EXCLUDED.link, duid = EXCLUDED.duid, \
     lease_start = EXCLUDED.lease_start, preferred_end = EXCLUDED.preferred_end, \
     valid_end = EXCLUDED.valid_end, t1 = EXCLUDED.t1, t2 = EXCLUDED.t2, cltt = EXCLUDED.cltt, \
     state_since = EXCLUDED.state_since, sequence = EXCLUDED.sequence, \
     relay_peer = EXCLUDED.relay_peer, relay_chain = EXCLUDED.relay_chain, \
     interface_id = EXCLUDED.interface_id, remote_id = EXCLUDED.remote_id, \
     relay_id = EXCLUDED.relay_id, revision = EXCLUDED.revision, writer = EXCLUDED.writer";

/// A number as the database keeps it (bigint); the store's times and sequences fit.
pub(crate) fn db_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn bad(col: &str, why: impl std::fmt::Display) -> String {
    format!("column {col}: {why}")
}

fn get<'r, T: postgres::types::FromSql<'r>>(
    row: &'r Row,
    i: usize,
    col: &str,
) -> Result<T, String> {
    row.try_get(i).map_err(|e| bad(col, e))
}

fn time(row: &Row, i: usize, col: &str) -> Result<Timestamp, String> {
    let v: i64 = get(row, i, col)?;
    u64::try_from(v).map_err(|_| bad(col, format!("negative {v}")))
}

fn bytes<'r>(row: &'r Row, i: usize, col: &str) -> Result<Option<&'r [u8]>, String> {
    get(row, i, col)
}

/// One `lease4` row as read.
#[derive(Debug)]
pub(crate) enum Row4 {
    Live(Binding4),
    Gone { address: Ipv4Addr, sequence: u64 },
}

/// The address of a `lease4` row, when it reads (for reports of rows that do not decode).
pub(crate) fn address4(row: &Row) -> Option<Ipv4Addr> {
    match row.try_get::<_, IpAddr>(0).ok()? {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

/// Decodes a row selected with [`COLUMNS4`].
pub(crate) fn decode4(row: &Row) -> Result<Row4, String> {
    let address = address4(row).ok_or_else(|| bad("address", "not an IPv4 address"))?;
    let state: &str = get(row, 1, "state")?;
    let sequence = time(row, 11, "sequence")?;
    if state == DELETED {
        return Ok(Row4::Gone { address, sequence });
    }
    let state = State4::from_name(state).ok_or_else(|| bad("state", "unknown state"))?;
    let htype: i16 = get(row, 2, "htype")?;
    let htype = u8::try_from(htype).map_err(|_| bad("htype", "not an octet"))?;
    let chaddr: &[u8] = get(row, 3, "chaddr")?;
    let hw = HwAddr::new(htype, chaddr).map_err(|e| bad("chaddr", e))?;
    let subnet: &str = get(row, 18, "subnet")?;
    let subnet: Ipv4Net = subnet
        .parse()
        .map_err(|_| bad("subnet", "not an IPv4 prefix"))?;
    let mut b = Binding4::new(address, subnet, hw, state)
        .with_times(
            time(row, 5, "lease_start")?,
            time(row, 6, "lease_end")?,
            time(row, 7, "t1")?,
            time(row, 8, "t2")?,
            time(row, 9, "cltt")?,
        )
        .with_state_since(time(row, 10, "state_since")?);
    b.sequence = sequence;
    b.set_fields(Fields4 {
        client_id: bytes(row, 4, "client_id")?,
        relay_agent_information: bytes(row, 12, "relay_agent_info")?,
        circuit_id: bytes(row, 13, "circuit_id")?,
        remote_id: bytes(row, 14, "remote_id")?,
        relay_id: bytes(row, 15, "relay_id")?,
        vendor_class_id: bytes(row, 16, "vendor_class_id")?,
        hostname: bytes(row, 17, "hostname")?,
    })
    .map_err(|e| e.to_string())?;
    Ok(Row4::Live(b))
}

/// One `lease6` row as read.
#[derive(Debug)]
pub(crate) enum Row6 {
    Live(Binding6),
    Gone { key: Key6, sequence: u64 },
}

fn v6(row: &Row, i: usize, col: &str) -> Result<Option<Ipv6Addr>, String> {
    match get::<Option<IpAddr>>(row, i, col)? {
        None => Ok(None),
        Some(IpAddr::V6(a)) => Ok(Some(a)),
        Some(IpAddr::V4(a)) => Err(bad(col, format!("{a} is not an IPv6 address"))),
    }
}

/// The address or prefix of a `lease6` row, when it reads (for reports).
pub(crate) fn which6(row: &Row) -> Option<String> {
    let address = v6(row, 0, "address").ok()??;
    match row.try_get::<_, i16>(1).ok()? {
        128 => Some(address.to_string()),
        len => Some(format!("{address}/{len}")),
    }
}

/// Decodes a row selected with [`COLUMNS6`].
pub(crate) fn decode6(row: &Row) -> Result<Row6, String> {
    let address = v6(row, 0, "address")?.ok_or_else(|| bad("address", "missing"))?;
    let prefix_len: i16 = get(row, 1, "prefix_len")?;
    let prefix_len = u8::try_from(prefix_len)
        .ok()
        .filter(|l| *l <= 128)
        .ok_or_else(|| bad("prefix_len", "not a prefix length"))?;
    if Ipv6Net::new(address, prefix_len).map(|n| n.network()) != Ok(address) {
        return Err(bad(
            "address",
            format!("{address} is not the first address of a /{prefix_len}"),
        ));
    }
    let state: &str = get(row, 4, "state")?;
    let sequence = time(row, 14, "sequence")?;
    if state == DELETED {
        return Ok(Row6::Gone {
            key: Key6::new(address, prefix_len),
            sequence,
        });
    }
    let state = State6::from_name(state).ok_or_else(|| bad("state", "unknown state"))?;
    let ia_type: &str = get(row, 2, "ia_type")?;
    let ia_type = IaType::from_name(ia_type).ok_or_else(|| bad("ia_type", "unknown IA type"))?;
    let iaid: i64 = get(row, 3, "iaid")?;
    let iaid = u32::try_from(iaid).map_err(|_| bad("iaid", "not 32 bits"))?;
    let link: &str = get(row, 5, "link")?;
    let link: Ipv6Net = link
        .parse()
        .map_err(|_| bad("link", "not an IPv6 prefix"))?;
    let mut b = Binding6::new(address, prefix_len, ia_type, &[], iaid, link, state)
        .map_err(|e| e.to_string())?
        .with_times(
            time(row, 7, "lease_start")?,
            time(row, 8, "preferred_end")?,
            time(row, 9, "valid_end")?,
            time(row, 10, "t1")?,
            time(row, 11, "t2")?,
            time(row, 12, "cltt")?,
        )
        .with_state_since(time(row, 13, "state_since")?);
    b.sequence = sequence;
    b.relay_peer = v6(row, 15, "relay_peer")?;
    b.set_fields(Fields6 {
        duid: bytes(row, 6, "duid")?,
        relay_chain: bytes(row, 16, "relay_chain")?,
        interface_id: bytes(row, 17, "interface_id")?,
        remote_id: bytes(row, 18, "remote_id")?,
        relay_id: bytes(row, 19, "relay_id")?,
    })
    .map_err(|e| e.to_string())?;
    Ok(Row6::Live(b))
}

/// The `lease4` rows of one group commit, column by column ([`UPSERT4`]'s parameters).
#[derive(Default)]
pub(crate) struct Columns4<'a> {
    address: Vec<IpAddr>,
    state: Vec<&'static str>,
    htype: Vec<i16>,
    chaddr: Vec<&'a [u8]>,
    client_id: Vec<Option<&'a [u8]>>,
    start: Vec<i64>,
    end: Vec<i64>,
    t1: Vec<i64>,
    t2: Vec<i64>,
    cltt: Vec<i64>,
    state_since: Vec<Option<i64>>,
    sequence: Vec<i64>,
    relay_agent_info: Vec<Option<&'a [u8]>>,
    circuit_id: Vec<Option<&'a [u8]>>,
    remote_id: Vec<Option<&'a [u8]>>,
    relay_id: Vec<Option<&'a [u8]>>,
    vendor_class_id: Vec<Option<&'a [u8]>>,
    hostname: Vec<Option<&'a [u8]>>,
    subnet: Vec<String>,
}

impl<'a> Columns4<'a> {
    pub(crate) fn is_empty(&self) -> bool {
        self.address.is_empty()
    }

    pub(crate) fn live(&mut self, b: &'a Binding4) {
        let f = b.fields();
        self.row(
            b.address,
            b.state.as_str(),
            (b.hw.htype(), b.hw.chaddr()),
            [b.start, b.end, b.t1, b.t2, b.cltt],
            Some(b.state_since),
            b.sequence,
            [
                f.client_id,
                f.relay_agent_information,
                f.circuit_id,
                f.remote_id,
                f.relay_id,
                f.vendor_class_id,
                f.hostname,
            ],
            b.subnet.to_string(),
        );
    }

    pub(crate) fn tombstone(&mut self, address: Ipv4Addr, sequence: u64) {
        self.row(
            address,
            DELETED,
            (0, &[]),
            [0; 5],
            None,
            sequence,
            [None; 7],
            String::new(),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        address: Ipv4Addr,
        state: &'static str,
        (htype, chaddr): (u8, &'a [u8]),
        [start, end, t1, t2, cltt]: [Timestamp; 5],
        state_since: Option<Timestamp>,
        sequence: u64,
        vars: [Option<&'a [u8]>; 7],
        subnet: String,
    ) {
        self.address.push(IpAddr::V4(address));
        self.state.push(state);
        self.htype.push(i16::from(htype));
        self.chaddr.push(chaddr);
        self.start.push(db_int(start));
        self.end.push(db_int(end));
        self.t1.push(db_int(t1));
        self.t2.push(db_int(t2));
        self.cltt.push(db_int(cltt));
        self.state_since.push(state_since.map(db_int));
        self.sequence.push(db_int(sequence));
        let [client_id, rai, circuit, remote, relay, vendor, host] = vars;
        self.client_id.push(client_id);
        self.relay_agent_info.push(rai);
        self.circuit_id.push(circuit);
        self.remote_id.push(remote);
        self.relay_id.push(relay);
        self.vendor_class_id.push(vendor);
        self.hostname.push(host);
        self.subnet.push(subnet);
    }

    /// [`UPSERT4`]'s parameters, `node` last.
    pub(crate) fn params<'s>(
        &'s self,
        node: &'s String,
    ) -> [&'s (dyn postgres::types::ToSql + Sync); 20] {
        [
            &self.address,
            &self.state,
            &self.htype,
            &self.chaddr,
            &self.client_id,
            &self.start,
            &self.end,
            &self.t1,
            &self.t2,
            &self.cltt,
            &self.state_since,
            &self.sequence,
            &self.relay_agent_info,
            &self.circuit_id,
            &self.remote_id,
            &self.relay_id,
            &self.vendor_class_id,
            &self.hostname,
            &self.subnet,
            node,
        ]
    }
}

/// The `lease6` rows of one group commit ([`UPSERT6`]'s parameters).
#[derive(Default)]
pub(crate) struct Columns6<'a> {
    address: Vec<IpAddr>,
    prefix_len: Vec<i16>,
    ia_type: Vec<&'static str>,
    iaid: Vec<i64>,
    state: Vec<&'static str>,
    link: Vec<String>,
    duid: Vec<Option<&'a [u8]>>,
    start: Vec<i64>,
    preferred_end: Vec<i64>,
    valid_end: Vec<i64>,
    t1: Vec<i64>,
    t2: Vec<i64>,
    cltt: Vec<i64>,
    state_since: Vec<Option<i64>>,
    sequence: Vec<i64>,
    relay_peer: Vec<Option<IpAddr>>,
    relay_chain: Vec<Option<&'a [u8]>>,
    interface_id: Vec<Option<&'a [u8]>>,
    remote_id: Vec<Option<&'a [u8]>>,
    relay_id: Vec<Option<&'a [u8]>>,
}

impl<'a> Columns6<'a> {
    pub(crate) fn is_empty(&self) -> bool {
        self.address.is_empty()
    }

    pub(crate) fn live(&mut self, b: &'a Binding6) {
        let f = b.fields();
        self.address.push(IpAddr::V6(b.address));
        self.prefix_len.push(i16::from(b.prefix_len));
        self.ia_type.push(b.ia_type.as_str());
        self.iaid.push(i64::from(b.iaid));
        self.state.push(b.state.as_str());
        self.link.push(b.link.to_string());
        self.duid.push(f.duid);
        self.start.push(db_int(b.start));
        self.preferred_end.push(db_int(b.preferred_end));
        self.valid_end.push(db_int(b.valid_end));
        self.t1.push(db_int(b.t1));
        self.t2.push(db_int(b.t2));
        self.cltt.push(db_int(b.cltt));
        self.state_since.push(Some(db_int(b.state_since)));
        self.sequence.push(db_int(b.sequence));
        self.relay_peer.push(b.relay_peer.map(IpAddr::V6));
        self.relay_chain.push(f.relay_chain);
        self.interface_id.push(f.interface_id);
        self.remote_id.push(f.remote_id);
        self.relay_id.push(f.relay_id);
    }

    pub(crate) fn tombstone(&mut self, key: Key6, sequence: u64) {
        self.address.push(IpAddr::V6(key.address()));
        self.prefix_len.push(i16::from(key.prefix_len()));
        self.ia_type.push(if key.prefix_len() == 128 {
            IaType::Na.as_str()
        } else {
            IaType::Pd.as_str()
        });
        self.iaid.push(0);
        self.state.push(DELETED);
        self.link.push(String::new());
        self.duid.push(None);
        for col in [
            &mut self.start,
            &mut self.preferred_end,
            &mut self.valid_end,
            &mut self.t1,
            &mut self.t2,
            &mut self.cltt,
        ] {
            col.push(0);
        }
        self.state_since.push(None);
        self.sequence.push(db_int(sequence));
        self.relay_peer.push(None);
        self.relay_chain.push(None);
        self.interface_id.push(None);
        self.remote_id.push(None);
        self.relay_id.push(None);
    }

    /// [`UPSERT6`]'s parameters, `node` last.
    pub(crate) fn params<'s>(
        &'s self,
        node: &'s String,
    ) -> [&'s (dyn postgres::types::ToSql + Sync); 21] {
        [
            &self.address,
            &self.prefix_len,
            &self.ia_type,
            &self.iaid,
            &self.state,
            &self.link,
            &self.duid,
            &self.start,
            &self.preferred_end,
            &self.valid_end,
            &self.t1,
            &self.t2,
            &self.cltt,
            &self.state_since,
            &self.sequence,
            &self.relay_peer,
            &self.relay_chain,
            &self.interface_id,
            &self.remote_id,
            &self.relay_id,
            node,
        ]
    }
}
