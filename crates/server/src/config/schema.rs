//! The configuration file as written: TOML sections by family and protocol (`[server]` for what
//! is shared, `[dhcp4]`, `[leasequery4]`, `[dhcp6]`, `[leasequery6]`), kebab-case
//! keys, every default stated here once (and in docs/configuration.md). Unknown keys are errors,
//! so a typo never silently falls back to a default. The earlier layout (`[server] identifier`,
//! `[leasequery]`) still loads, with a warning that says what to rename.

use super::duration::Seconds;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct File {
    #[serde(default)]
    pub server: Server,
    pub dhcp4: Option<Dhcp4>,
    pub leasequery4: Option<Leasequery>,
    /// The earlier name of `[leasequery4]` (read, with a warning).
    pub leasequery: Option<Leasequery>,
    pub dhcp6: Option<Dhcp6>,
    pub leasequery6: Option<Leasequery6>,
    /// `[control]`: the control socket and the HTTP control API (docs/operator-guide.md,
    /// "Control").
    pub control: Option<Control>,
    /// The Prometheus endpoint (absent: none).
    pub metrics: Option<Metrics>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Server {
    /// The earlier place of `[dhcp4] server-identifier` (read, with a warning).
    pub identifier: Option<Ipv4Addr>,
    /// The store: the embedded SQLite file's path, or a `postgresql://` URL of a database
    /// several servers share (resolved by `config::store`).
    #[serde(default = "default_store")]
    pub store: String,
    /// This server's name in a shared lease set (default: the host name).
    pub name: Option<String>,
    /// How to reach a PostgreSQL store (only with a `postgresql://` store).
    pub postgresql: Option<Postgresql>,
    /// The user `lessor serve` switches to once its store and sockets are open (it must start as
    /// root), keeping only CAP_NET_BIND_SERVICE, CAP_NET_RAW and CAP_NET_ADMIN. None: it keeps
    /// running as started.
    pub user: Option<String>,
    /// The group to switch to with `user`; default: the user's primary group.
    pub group: Option<String>,
    /// How often the counters of every service are written to the log ("0s": only at stop).
    #[serde(default = "default_stats_interval")]
    pub stats_interval: Seconds,
    /// How the log is written: "text" (default) or "json".
    #[serde(default)]
    pub log_format: lessor_config::LogFormat,
    /// The least severe events logged (default "info"); `LESSOR_LOG` overrides it.
    #[serde(default)]
    pub log_level: lessor_config::LogLevel,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            identifier: None,
            store: default_store(),
            name: None,
            postgresql: None,
            user: None,
            group: None,
            stats_interval: default_stats_interval(),
            log_format: lessor_config::LogFormat::default(),
            log_level: lessor_config::LogLevel::default(),
        }
    }
}

fn default_store() -> String {
    "var/lessor.db".into()
}

/// `[server.postgresql]`: how a PostgreSQL store is reached.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Postgresql {
    #[serde(default)]
    pub tls: PgTls,
    /// CA certificates (PEM) for `tls = "require"` / `"verify-full"`; none: the system's.
    pub tls_ca_file: Option<PathBuf>,
    #[serde(default = "super::store::default_connect_timeout")]
    pub connect_timeout: Seconds,
    /// A file whose first line is the password (mode 0600 or stricter), read at start.
    pub password_file: Option<PathBuf>,
}

impl Default for Postgresql {
    fn default() -> Self {
        Postgresql {
            tls: PgTls::default(),
            tls_ca_file: None,
            connect_timeout: super::store::default_connect_timeout(),
            password_file: None,
        }
    }
}

/// TLS to the database (libpq's `sslmode` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PgTls {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, its certificate unchecked.
    #[default]
    Prefer,
    /// TLS always, the certificate unchecked.
    Require,
    /// TLS always; the certificate must chain to `tls-ca-file` (or the system roots) and name
    /// the host.
    VerifyFull,
}

impl PgTls {
    /// As written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            PgTls::Disable => "disable",
            PgTls::Prefer => "prefer",
            PgTls::Require => "require",
            PgTls::VerifyFull => "verify-full",
        }
    }
}

fn default_stats_interval() -> Seconds {
    Seconds(900)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dhcp4 {
    /// DHCPv4 Server Identifier (option 54): an address of this server that clients can reach.
    pub server_identifier: Option<Ipv4Addr>,
    /// Local addresses to answer on. Nothing is served anywhere else.
    #[serde(default)]
    pub listen: Vec<Ipv4Addr>,
    /// Allows `0.0.0.0` in `listen` (every address of the host), refused by default.
    #[serde(default)]
    pub listen_wildcard: bool,
    /// Interfaces for directly attached clients (broadcast traffic).
    #[serde(default)]
    pub interfaces: Vec<String>,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Where replies to a relay (giaddr) go.
    #[serde(default = "default_port")]
    pub relay_port: u16,
    /// Threads reading each socket (the kernel hands each datagram to one of them); default:
    /// the CPUs available, at most 4.
    pub receive_threads: Option<u16>,
    /// Runs of equal-sized replies to one destination leave with UDP segmentation offload
    /// (docs/configuration.md; off: a capture on this host would show each run as one datagram).
    #[serde(default)]
    pub segment_replies: bool,
    /// giaddr values whose clients are served; a relayed message from elsewhere is dropped.
    #[serde(default)]
    pub relays: Vec<Ipv4Net>,
    #[serde(default = "default_lease_time")]
    pub lease_time: Seconds,
    /// T1; default half the lease time (RFC 2131 §4.4.5).
    pub renew_time: Option<Seconds>,
    /// T2; default 7/8 of the lease time (RFC 2131 §4.4.5).
    pub rebind_time: Option<Seconds>,
    /// How long a declined address (DHCPDECLINE) stays out of allocation.
    #[serde(default = "default_decline_probation")]
    pub decline_probation: Seconds,
    #[serde(default)]
    pub options: toml::Table,
    #[serde(default)]
    pub subnet: Vec<Subnet>,
    #[serde(default)]
    pub rate_limit: Dhcp4RateLimit,
}

/// `[dhcp4.rate-limit]`: messages per second, and how many may come at once (the bucket's
/// depth), per client (client identifier, else hardware address), per circuit (giaddr and the
/// relay's circuit-id) and per relay (giaddr; a served interface for its direct clients; a
/// subnet for clients unicasting from their address). 0 turns a limit off. The defaults are
/// far above what a working client, port or relay sends (docs/configuration.md).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dhcp4RateLimit {
    #[serde(default = "default_per_client")]
    pub per_client: u32,
    #[serde(default = "default_per_client_burst")]
    pub per_client_burst: u32,
    #[serde(default = "default_per_circuit")]
    pub per_circuit: u32,
    #[serde(default = "default_per_circuit_burst")]
    pub per_circuit_burst: u32,
    #[serde(default = "default_per_relay")]
    pub per_relay: u32,
    #[serde(default = "default_per_relay_burst")]
    pub per_relay_burst: u32,
}

impl Default for Dhcp4RateLimit {
    fn default() -> Self {
        Dhcp4RateLimit {
            per_client: default_per_client(),
            per_client_burst: default_per_client_burst(),
            per_circuit: default_per_circuit(),
            per_circuit_burst: default_per_circuit_burst(),
            per_relay: default_per_relay(),
            per_relay_burst: default_per_relay_burst(),
        }
    }
}

fn default_per_client() -> u32 {
    10
}

fn default_per_client_burst() -> u32 {
    20
}

fn default_per_circuit() -> u32 {
    100
}

fn default_per_circuit_burst() -> u32 {
    1_000
}

fn default_per_relay() -> u32 {
    2_000
}

fn default_per_relay_burst() -> u32 {
    20_000
}

fn default_decline_probation() -> Seconds {
    Seconds(86_400)
}

fn default_port() -> u16 {
    67
}

fn default_lease_time() -> Seconds {
    Seconds(3600)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Subnet {
    pub prefix: Ipv4Net,
    /// "first-last" ranges or CIDR prefixes inside `prefix`.
    #[serde(default)]
    pub pools: Vec<String>,
    /// Addresses inside pools that are never handed out.
    #[serde(default)]
    pub exclude: Vec<Ipv4Addr>,
    pub lease_time: Option<Seconds>,
    pub renew_time: Option<Seconds>,
    pub rebind_time: Option<Seconds>,
    #[serde(default)]
    pub options: toml::Table,
    #[serde(default)]
    pub reservations: Vec<Reservation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Reservation {
    /// Ethernet chaddr, "02:00:00:00:00:02".
    pub mac: Option<String>,
    /// Client identifier (option 61) as hex, type octet first.
    pub client_id: Option<String>,
    pub address: Ipv4Addr,
    #[serde(default)]
    pub options: toml::Table,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Leasequery {
    /// Option 54 of leasequery answers; default `[dhcp4] server-identifier` (required without
    /// `[dhcp4]`, e.g. a server answering bulk leasequery from a store another process writes).
    pub server_identifier: Option<Ipv4Addr>,
    /// Addresses and prefixes allowed to send DHCPLEASEQUERY; nobody else gets an answer.
    #[serde(default)]
    pub requesters: Vec<IpNet>,
    /// Options a DHCPLEASEACTIVE may carry when the requester asks for them.
    #[serde(default = "default_non_sensitive")]
    pub non_sensitive_options: Vec<u8>,
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// draft-ietf-dhc-leasequery-00 requesters (answered DHCPACK/DHCPNAK).
    #[serde(default)]
    pub legacy: Vec<Legacy>,
    pub bulk: Option<Bulk>,
    /// Requesters whose replies go to the query's source port rather than port 67, when the
    /// query comes from giaddr itself (docs/protocol.md decision 4). Inside `requesters`.
    #[serde(default)]
    pub reply_to_source_port: Vec<IpNet>,
}

fn default_non_sensitive() -> Vec<u8> {
    vec![1, 3, 6, 12, 15, 51, 58, 59, 60, 61, 82, 91, 92]
}

/// Queries per second. Each limit is a token bucket holding 60 seconds of its rate
/// (`leasequery4::access::BURST_SECONDS`): the defaults let one requester send 300,000 queries at
/// once (an access concentrator recovering after a reboot asks once per address it serves,
/// RFC 4388 §6.6, §7), then 5,000 per second; all requesters together 3,000,000, then 50,000
/// per second (docs/leasequery.md, "Rate limits").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RateLimit {
    #[serde(default = "default_per_requester")]
    pub per_requester: u32,
    #[serde(default = "default_total")]
    pub total: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_requester: default_per_requester(),
            total: default_total(),
        }
    }
}

fn default_per_requester() -> u32 {
    5_000
}

fn default_total() -> u32 {
    50_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Legacy {
    pub requester: IpAddr,
    /// The message-type value the legacy requester uses for its query.
    #[serde(default = "default_legacy_type")]
    pub message_type: u8,
}

fn default_legacy_type() -> u8 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bulk {
    #[serde(default)]
    pub listen: Vec<IpAddr>,
    /// Allows `0.0.0.0` and `::` in `listen` (every address of the host), refused by default.
    #[serde(default)]
    pub listen_wildcard: bool,
    #[serde(default = "default_port")]
    pub port: u16,
    /// BULK_LQ_MAX_CONNS.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// BULK_LQ_DATA_TIMEOUT.
    #[serde(default = "default_data_timeout")]
    pub data_timeout: Seconds,
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: Seconds,
    // Slots that cannot be held forever (docs/leasequery.md, "Bulk leasequery limits").
    #[serde(default = "default_frame_timeout")]
    pub frame_timeout: Seconds,
    #[serde(default = "default_first_query_timeout")]
    pub first_query_timeout: Seconds,
    #[serde(default = "default_max_connections_per_requester")]
    pub max_connections_per_requester: u32,
    #[serde(default = "default_queries_per_connection")]
    pub queries_per_connection: u32,
    #[serde(default)]
    pub draft_codes: DraftCodes,
}

fn default_max_connections() -> u32 {
    10
}

fn default_data_timeout() -> Seconds {
    Seconds(30)
}

fn default_idle_timeout() -> Seconds {
    Seconds(300)
}

fn default_frame_timeout() -> Seconds {
    Seconds(10)
}

fn default_first_query_timeout() -> Seconds {
    Seconds(10)
}

fn default_max_connections_per_requester() -> u32 {
    2
}

fn default_queries_per_connection() -> u32 {
    8
}

/// The draft's TBD code points (docs/protocol.md decision 2): the wire crate's, read directly.
pub use lessor_wire::v4::DraftCodes;

/// `[dhcp6]`: the DHCPv6 server (RFC 8415). Resolved by `validate6` into `dhcp6::Dhcp6`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dhcp6 {
    /// The server's DUID (OPTION_SERVERID) as hex; None: generated once and kept in the store.
    pub server_duid: Option<String>,
    /// Local addresses answering relayed and unicast traffic. Nothing is served anywhere else.
    #[serde(default)]
    pub listen: Vec<Ipv6Addr>,
    /// Allows `::` in `listen` (every address of the host), refused by default.
    #[serde(default)]
    pub listen_wildcard: bool,
    /// Interfaces for directly attached clients (ff02::1:2 joined there).
    #[serde(default)]
    pub interfaces: Vec<String>,
    #[serde(default = "default_port6")]
    pub port: u16,
    /// Threads reading each socket; default as for `[dhcp4]`.
    pub receive_threads: Option<u16>,
    /// As `[dhcp4] segment-replies`.
    #[serde(default)]
    pub segment_replies: bool,
    /// Answers a SOLICIT carrying Rapid Commit with a REPLY (RFC 8415 §18.3.1).
    #[serde(default)]
    pub rapid_commit: bool,
    /// Default [`DEFAULT_PREFERRED_LIFETIME`]. Left an option so that a mistake is reported at
    /// the key that is written (the resolved `Lifetimes6` holds the value).
    pub preferred_lifetime: Option<Seconds>,
    /// Default [`DEFAULT_VALID_LIFETIME`].
    pub valid_lifetime: Option<Seconds>,
    /// T1; default half the preferred lifetime (RFC 8415 §14.2).
    pub renew_time: Option<Seconds>,
    /// T2; default 0.8 of the preferred lifetime (RFC 8415 §14.2).
    pub rebind_time: Option<Seconds>,
    /// How long a declined address (DECLINE) stays out of allocation.
    #[serde(default = "default_decline_probation")]
    pub decline_probation: Seconds,
    #[serde(default)]
    pub options: toml::Table,
    #[serde(default)]
    pub link: Vec<Link6>,
    #[serde(default)]
    pub rate_limit: Dhcp6RateLimit,
}

/// `[dhcp6.rate-limit]`: messages per second, and how many may come at once, per client (its
/// DUID) and per relay (the outermost relay's address; a served interface for its direct
/// clients; a unicast sender's address). 0 turns a limit off. The defaults are `[dhcp4.rate-limit]`'s.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dhcp6RateLimit {
    #[serde(default = "default_per_client")]
    pub per_client: u32,
    #[serde(default = "default_per_client_burst")]
    pub per_client_burst: u32,
    #[serde(default = "default_per_relay")]
    pub per_relay: u32,
    #[serde(default = "default_per_relay_burst")]
    pub per_relay_burst: u32,
}

impl Default for Dhcp6RateLimit {
    fn default() -> Self {
        Dhcp6RateLimit {
            per_client: default_per_client(),
            per_client_burst: default_per_client_burst(),
            per_relay: default_per_relay(),
            per_relay_burst: default_per_relay_burst(),
        }
    }
}

fn default_port6() -> u16 {
    547
}

pub const DEFAULT_PREFERRED_LIFETIME: Seconds = Seconds(1800);

pub const DEFAULT_VALID_LIFETIME: Seconds = Seconds(3600);

/// `[[dhcp6.link]]`: one link clients are on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Link6 {
    /// The link's prefix: a relay's link-address inside it selects the link.
    pub prefix: Ipv6Net,
    /// Interface-id values (option 18) of relays that identify the link by it: text, or hex
    /// written "0x...".
    #[serde(default)]
    pub interface_ids: Vec<String>,
    /// The local interface (one of `[dhcp6] interfaces`) this link's direct clients reach.
    pub interface: Option<String>,
    #[serde(default)]
    pub pools: Vec<Pool6>,
    #[serde(default)]
    pub prefix_pools: Vec<PrefixPool6>,
    #[serde(default)]
    pub reservations: Vec<Reservation6>,
    pub preferred_lifetime: Option<Seconds>,
    pub valid_lifetime: Option<Seconds>,
    pub renew_time: Option<Seconds>,
    pub rebind_time: Option<Seconds>,
    #[serde(default)]
    pub options: toml::Table,
}

/// An address pool: `"first-last"` or a prefix, or a table with the range and its options.
#[derive(Debug, Clone)]
pub struct Pool6 {
    pub range: String,
    pub options: toml::Table,
}

/// The table form of [`Pool6`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Pool6Table {
    range: String,
    #[serde(default)]
    options: toml::Table,
}

impl<'de> Deserialize<'de> for Pool6 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{self, value::MapAccessDeserializer, MapAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pool6;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a range \"first-last\", a prefix, or { range = \"first-last\", options = { ... } }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Pool6, E> {
                Ok(Pool6 {
                    range: v.to_owned(),
                    options: toml::Table::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Pool6, A::Error> {
                let t = Pool6Table::deserialize(MapAccessDeserializer::new(map))?;
                Ok(Pool6 {
                    range: t.range,
                    options: t.options,
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A prefix-delegation pool (RFC 8415 §6.3): `prefix` cut into prefixes of `delegated-length`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PrefixPool6 {
    pub prefix: Ipv6Net,
    pub delegated_length: u8,
    #[serde(default)]
    pub options: toml::Table,
}

/// A reservation by DUID.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Reservation6 {
    /// The client's DUID (OPTION_CLIENTID) as hex, type first.
    pub duid: String,
    #[serde(default)]
    pub addresses: Vec<Ipv6Addr>,
    #[serde(default)]
    pub prefixes: Vec<Ipv6Net>,
    #[serde(default)]
    pub options: toml::Table,
}

/// `[leasequery6]`: the DHCPv6 leasequery responder (RFC 5007) on the `[dhcp6]` sockets,
/// answering as `[dhcp6]`'s server DUID.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Leasequery6 {
    /// Addresses and prefixes allowed to send LEASEQUERY: the requester and, for a relayed
    /// query, the relay the reply goes to (docs/protocol.md decision 23).
    #[serde(default)]
    pub requesters: Vec<IpNet>,
    /// Option codes never returned in client data, even when the query's ORO asks for them
    /// (RFC 5007 §4.4.2's "sensitive options"; 47, LQ_RELAY_DATA, may be listed).
    #[serde(default)]
    pub sensitive_options: Vec<u16>,
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// What a requester outside `requesters` gets (RFC 5007 §4.4.1).
    #[serde(default)]
    pub not_allowed: NotAllowed6,
    /// What a LEASEQUERY that came inside a RELAY-FORW gets (RFC 5007 §5).
    #[serde(default)]
    pub relayed: Relayed6,
    /// `[leasequery6.bulk]`: bulk leasequery over TCP (RFC 5460).
    pub bulk: Option<Bulk6>,
}

/// `[leasequery6] not-allowed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotAllowed6 {
    /// No reply (RFC 5007 §4.4.1 "MAY discard").
    #[default]
    Discard,
    /// A LEASEQUERY-REPLY with status NotAllowed.
    NotAllowed,
}

/// `[leasequery6] relayed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relayed6 {
    /// Answered back through the relay chain.
    #[default]
    Answer,
    /// No reply (RFC 5007 §5 "MAY be configured to discard relayed LEASEQUERY messages").
    Discard,
}

/// `[leasequery6.bulk]`: the keys of `[leasequery4.bulk]` without the draft's code points, on
/// port 547 (RFC 5460 §5.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Bulk6 {
    #[serde(default)]
    pub listen: Vec<IpAddr>,
    /// Allows `::` in `listen` (every address of the host), refused by default.
    #[serde(default)]
    pub listen_wildcard: bool,
    #[serde(default = "default_port6")]
    pub port: u16,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    #[serde(default = "default_data_timeout")]
    pub data_timeout: Seconds,
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: Seconds,
    #[serde(default = "default_frame_timeout")]
    pub frame_timeout: Seconds,
    #[serde(default = "default_first_query_timeout")]
    pub first_query_timeout: Seconds,
    #[serde(default = "default_max_connections_per_requester")]
    pub max_connections_per_requester: u32,
    #[serde(default = "default_queries_per_connection")]
    pub queries_per_connection: u32,
}

/// `[control]`: where `lessor ctl` and NOC tools steer the running server. Each transport is off
/// unless named.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Control {
    /// A Unix stream socket (mode 0600, given to `[server] user`): one JSON request per line.
    pub socket: Option<PathBuf>,
    /// An address for the HTTP control API (`POST /v1/<command>`), which needs `token-file`.
    pub http_listen: Option<std::net::SocketAddr>,
    /// The file holding the bearer token the HTTP control API requires.
    pub token_file: Option<PathBuf>,
}

/// `[metrics]`: the Prometheus endpoint (docs/operator-guide.md, "Metrics"). Absent: none.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Metrics {
    /// Address and port of the HTTP listener ("127.0.0.1:9420").
    pub listen: std::net::SocketAddr,
    /// The one path answered.
    #[serde(default = "default_metrics_path")]
    pub path: String,
}

fn default_metrics_path() -> String {
    "/metrics".into()
}
