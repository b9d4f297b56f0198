//! The PostgreSQL schema and its versioned migrations, as `lessor_store::schema` has for SQLite:
//! a `schema_version` table, each migration in its own transaction, a newer schema refused.
//! Servers starting at once take a session advisory lock around the migrations, so one migrates
//! and the others find the schema current.

use postgres::Client;

use lessor_store::StoreError;

/// The advisory lock held while migrating (any 64-bit constant of Lessor's own).
const MIGRATION_LOCK: i64 = 0x6c65_7373_6f72_0001;

/// The migrations, in order; the schema's version is how many have run.
pub(crate) const MIGRATIONS: &[&str] = &[SCHEMA_1];

/// Version 1: both families' bindings with their tombstones, the revision feed and per-node
/// meta (docs/architecture.md, "The PostgreSQL backend").
const SCHEMA_1: &str = r#"
-- Every write takes the next number: the order the followers read changes in (the commit
-- order: writers hold one advisory lock until they commit).
CREATE SEQUENCE lease_revision AS bigint;

CREATE TABLE lease4 (
    address          inet     PRIMARY KEY,  -- the IPv4 address
    state            text     NOT NULL,     -- offered|active|released|expired|declined|reserved, or deleted (a tombstone)
    htype            smallint NOT NULL,     -- hardware type (1 = Ethernet)
    chaddr           bytea    NOT NULL,     -- hlen octets, at most 16
    client_id        bytea,                 -- option 61 value
    lease_start      bigint   NOT NULL,     -- seconds since the Unix epoch
    lease_end        bigint   NOT NULL,     -- expiry, seconds since the Unix epoch
    t1               bigint   NOT NULL,     -- renewal time
    t2               bigint   NOT NULL,     -- rebinding time
    cltt             bigint   NOT NULL,     -- client-last-transaction-time
    state_since      bigint   NOT NULL,     -- when the binding entered its state (a tombstone: when deleted)
    sequence         bigint   NOT NULL,     -- the store's transaction number (guards compare it)
    relay_agent_info bytea,                 -- raw option 82 value of the most recent DHCPREQUEST
    circuit_id       bytea,                 -- option 82 sub-option 1
    remote_id        bytea,                 -- option 82 sub-option 2
    relay_id         bytea,                 -- option 82 sub-option 12
    vendor_class_id  bytea,                 -- option 60
    hostname         bytea,                 -- option 12
    subnet           text     NOT NULL,     -- e.g. 192.0.2.0/24 (empty in a tombstone)
    revision         bigint   NOT NULL,     -- nextval('lease_revision') of the last write
    writer           text     NOT NULL      -- the node name of the server that wrote the row
);
-- The feed: rows written after a revision, in order.
CREATE INDEX lease4_revision ON lease4 (revision);
-- An operator's (or lessor leases') look-ups by client and by relay; the servers answer
-- leasequery from memory and never read these.
CREATE INDEX lease4_chaddr ON lease4 (chaddr);
CREATE INDEX lease4_client_id ON lease4 (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX lease4_relay_id ON lease4 (relay_id) WHERE relay_id IS NOT NULL;
CREATE INDEX lease4_remote_id ON lease4 (remote_id) WHERE remote_id IS NOT NULL;

CREATE TABLE lease6 (
    address       inet     NOT NULL,  -- the address, or the delegated prefix's first
    prefix_len    smallint NOT NULL,  -- 128 for an address (IA_NA), else the prefix length (IA_PD)
    ia_type       text     NOT NULL,  -- ia-na|ia-pd
    iaid          bigint   NOT NULL,  -- the IA's IAID (32 bits)
    state         text     NOT NULL,  -- advertised|active|released|expired|declined|reserved, or deleted
    link          text     NOT NULL,  -- the client's link, e.g. 2001:db8:1::/64
    duid          bytea,              -- the client's DUID
    lease_start   bigint   NOT NULL,  -- seconds since the Unix epoch
    preferred_end bigint   NOT NULL,  -- end of the preferred lifetime
    valid_end     bigint   NOT NULL,  -- end of the valid lifetime (expiry)
    t1            bigint   NOT NULL,
    t2            bigint   NOT NULL,
    cltt          bigint   NOT NULL,  -- client-last-transaction-time
    state_since   bigint   NOT NULL,  -- when the binding entered its state (a tombstone: when deleted)
    sequence      bigint   NOT NULL,  -- the store's transaction number
    relay_peer    inet,               -- source of the outermost RELAY-FORW
    relay_chain   bytea,              -- RELAY-FORW chain without the client's message
    interface_id  bytea,              -- option 18
    remote_id     bytea,              -- option 37 (enterprise number included)
    relay_id      bytea,              -- option 53
    revision      bigint   NOT NULL,
    writer        text     NOT NULL,
    PRIMARY KEY (address, prefix_len)
);
CREATE INDEX lease6_revision ON lease6 (revision);
CREATE INDEX lease6_duid ON lease6 (duid) WHERE duid IS NOT NULL;
CREATE INDEX lease6_relay_id ON lease6 (relay_id) WHERE relay_id IS NOT NULL;
CREATE INDEX lease6_remote_id ON lease6 (remote_id) WHERE remote_id IS NOT NULL;

-- Each server's own bookkeeping (its DHCPv6 DUID, quarantines), by node name.
CREATE TABLE meta (
    node  text NOT NULL,
    key   text NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (node, key)
);

-- Each server's number among those sharing the database (docs/protocol.md "Several servers on
-- one lease set"): the store puts it in the low 16 bits of every transaction number it writes,
-- so two servers never write the same number. Taken once per node name, kept for good.
CREATE TABLE writer_node (
    id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY CHECK (id BETWEEN 1 AND 65535),
    node text    NOT NULL UNIQUE
);

-- Readable views for an operator with psql (tombstones left out).
CREATE VIEW lease4_text AS SELECT
    address, state, to_timestamp(state_since) AS state_since, htype,
    encode(chaddr, 'hex') AS chaddr, encode(client_id, 'hex') AS client_id,
    to_timestamp(lease_start) AS lease_start, to_timestamp(lease_end) AS lease_end,
    to_timestamp(cltt) AS cltt, sequence,
    encode(relay_agent_info, 'hex') AS relay_agent_info, encode(circuit_id, 'hex') AS circuit_id,
    encode(remote_id, 'hex') AS remote_id, encode(relay_id, 'hex') AS relay_id,
    convert_from(vendor_class_id, 'SQL_ASCII') AS vendor_class_id,
    convert_from(hostname, 'SQL_ASCII') AS hostname, subnet, writer
FROM lease4 WHERE state <> 'deleted';
CREATE VIEW lease6_text AS SELECT
    address, prefix_len, ia_type, iaid, state, to_timestamp(state_since) AS state_since, link,
    encode(duid, 'hex') AS duid, to_timestamp(lease_start) AS lease_start,
    to_timestamp(preferred_end) AS preferred_end, to_timestamp(valid_end) AS valid_end,
    to_timestamp(cltt) AS cltt, sequence, relay_peer,
    encode(relay_chain, 'hex') AS relay_chain, encode(interface_id, 'hex') AS interface_id,
    encode(remote_id, 'hex') AS remote_id, encode(relay_id, 'hex') AS relay_id, writer
FROM lease6 WHERE state <> 'deleted';
"#;

/// Brings the schema to [`MIGRATIONS`]' version; `place` names the database in errors (the
/// URL without its password).
pub(crate) fn migrate(client: &mut Client, place: &str) -> Result<(), StoreError> {
    let context = |step: String| format!("postgresql {place}: {step}");
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| StoreError::db(context("lock for migrations".into()), e))?;
    let result = migrate_locked(client, place);
    // A broken session has dropped the lock with itself; otherwise release it.
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    result.map_err(|(step, e)| match e {
        Failure::Db(e) => StoreError::db(context(step), e),
        Failure::Store(e) => e,
    })
}

enum Failure {
    Db(postgres::Error),
    Store(StoreError),
}

fn migrate_locked(client: &mut Client, place: &str) -> Result<(), (String, Failure)> {
    let db = |step: &str| {
        let step = step.to_owned();
        move |e| (step, Failure::Db(e))
    };
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        .map_err(db("create schema_version"))?;
    let found: i64 = client
        .query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM schema_version",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(db("read schema_version"))?;
    let supported = MIGRATIONS.len() as i64;
    if found > supported {
        return Err((
            "schema".into(),
            Failure::Store(StoreError::SchemaTooNew {
                path: place.into(),
                found,
                supported,
            }),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i32 + 1;
        let step = format!("migration to schema version {version}");
        let mut tx = client.transaction().map_err(db(&step))?;
        tx.batch_execute(sql).map_err(db(&step))?;
        tx.execute("DELETE FROM schema_version", &[])
            .map_err(db(&step))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )
        .map_err(db(&step))?;
        tx.commit().map_err(db(&step))?;
        tracing::info!(database = place, version, "postgresql schema migrated");
    }
    Ok(())
}

/// The number `writer_node` keeps for `node`, taken on its first connection.
pub(crate) fn writer_id(client: &mut Client, node: &str) -> Result<u16, postgres::Error> {
    client.execute(
        "INSERT INTO writer_node (node) VALUES ($1) ON CONFLICT (node) DO NOTHING",
        &[&node],
    )?;
    let id: i32 = client
        .query_one("SELECT id FROM writer_node WHERE node = $1", &[&node])?
        .try_get(0)?;
    // The column's CHECK keeps it within 1..=65535.
    Ok(u16::try_from(id).unwrap_or(u16::MAX))
}
