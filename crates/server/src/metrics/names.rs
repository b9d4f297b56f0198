//! How a counter's stable name in a [`crate::stats::Report`] becomes a Prometheus metric: the
//! service gives the subsystem (`lessor_dhcp4_...`), and the parts of a name that are a value
//! rather than a meaning (a message type, a drop reason, a query key) become a label, so that
//! `dropped-rate-limited-client` of the DHCPv4 engine is
//! `lessor_dhcp4_dropped_messages_total{reason="rate-limited-client"}`. A counter no rule names
//! keeps its own name (`commit-failed` -> `lessor_dhcp4_commit_failed_total`): a counter added
//! to a report later is exported without a change here.

/// A counter's metric family (without `_total`, which the encoder adds) and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub family: String,
    pub label: Option<(&'static str, String)>,
}

/// The subsystem of a report's service name: the routers count what their family received.
fn subsystem(service: &str) -> &str {
    match service {
        "router4" => "dhcp4",
        "router6" => "dhcp6",
        s => s,
    }
}

/// Name prefixes whose rest is a label value: (services, prefix, family suffix, label key).
const PREFIXES: &[(&[&str], &str, &str, &str)] = &[
    (&["udp4", "udp6"], "sent-", "sent_datagrams", "destination"),
    (
        &["router4", "router6"],
        "received-",
        "received_messages",
        "type",
    ),
    (&["router6"], "relayed-", "relayed_messages", "type"),
    (&["router4", "router6"], "routed-", "routed_messages", "to"),
    (
        &["router4", "router6"],
        "discarded-",
        "discarded_messages",
        "reason",
    ),
    (
        &["dhcp4", "dhcp6"],
        "dropped-",
        "dropped_messages",
        "reason",
    ),
    (
        &["leasequery4", "leasequery6"],
        "dropped-",
        "dropped_queries",
        "reason",
    ),
    (
        &["leasequery4", "bulk4", "bulk6"],
        "query-",
        "queries",
        "key",
    ),
    (
        &["bulk4", "bulk6"],
        "refused-",
        "connections_refused",
        "reason",
    ),
    (&["bulk4"], "failed-", "query_failures", "status"),
    (&["bulk6"], "status-", "query_failures", "status"),
    (
        &["bulk4", "bulk6"],
        "closed-",
        "connections_closed",
        "reason",
    ),
    (&["bulk4"], "sent-", "binding_messages", "type"),
];

/// Whole names that are one value of a labelled family: (services, name, suffix, key, value).
const WHOLE: &[(&[&str], &str, &str, &str, &str)] = &[
    (&["udp4", "udp6"], "received", "received_datagrams", "", ""),
    (
        &["udp4", "udp6"],
        "truncated",
        "truncated_datagrams",
        "",
        "",
    ),
    (&["dhcp4"], "offers", "sent_messages", "type", "dhcpoffer"),
    (&["dhcp4"], "acks", "sent_messages", "type", "dhcpack"),
    (&["dhcp4"], "naks", "sent_messages", "type", "dhcpnak"),
    (
        &["dhcp6"],
        "advertises",
        "sent_messages",
        "type",
        "advertise",
    ),
    // Sent at once or once durable: both are REPLYs on the wire.
    (&["dhcp6"], "replies", "sent_messages", "type", "reply"),
    (
        &["dhcp6"],
        "replies-durable",
        "sent_messages",
        "type",
        "reply",
    ),
    (
        &["leasequery4", "leasequery6"],
        "received",
        "received_queries",
        "",
        "",
    ),
    (
        &["leasequery4", "leasequery6"],
        "examined",
        "examined_entries",
        "",
        "",
    ),
    (&["leasequery4"], "legacy", "legacy_queries", "", ""),
    (
        &["leasequery4"],
        "active",
        "sent_messages",
        "type",
        "dhcpleaseactive",
    ),
    (
        &["leasequery4"],
        "unassigned",
        "sent_messages",
        "type",
        "dhcpleaseunassigned",
    ),
    (
        &["leasequery4"],
        "unknown",
        "sent_messages",
        "type",
        "dhcpleaseunknown",
    ),
    (
        &["leasequery4"],
        "legacy-ack",
        "sent_messages",
        "type",
        "dhcpack",
    ),
    (
        &["leasequery4"],
        "legacy-nak",
        "sent_messages",
        "type",
        "dhcpnak",
    ),
    (&["leasequery6"], "by-address", "queries", "key", "address"),
    (
        &["leasequery6"],
        "by-client-id",
        "queries",
        "key",
        "client-id",
    ),
    (
        &["leasequery6"],
        "client-data",
        "replies",
        "result",
        "client-data",
    ),
    (
        &["leasequery6"],
        "client-link",
        "replies",
        "result",
        "client-link",
    ),
    (&["leasequery6"], "no-data", "replies", "result", "no-data"),
    (
        &["leasequery6"],
        "unknown-query-type",
        "replies",
        "result",
        "unknown-query-type",
    ),
    (
        &["leasequery6"],
        "malformed-query",
        "replies",
        "result",
        "malformed-query",
    ),
    (
        &["leasequery6"],
        "not-configured",
        "replies",
        "result",
        "not-configured",
    ),
    (
        &["leasequery6"],
        "not-allowed",
        "replies",
        "result",
        "not-allowed",
    ),
    (
        &["leasequery6"],
        "too-large",
        "replies",
        "result",
        "too-large",
    ),
    (
        &["bulk4", "bulk6"],
        "accepted",
        "connections_accepted",
        "",
        "",
    ),
    (&["bulk4", "bulk6"], "bindings", "bindings_streamed", "", ""),
    (
        &["bulk4"],
        "draft",
        "connections_by_dialect",
        "dialect",
        "draft",
    ),
    (
        &["bulk4"],
        "rfc6926",
        "connections_by_dialect",
        "dialect",
        "rfc6926",
    ),
];

/// The metric a counter of `service` named `counter` is exported as.
pub fn map(service: &str, counter: &str) -> Mapped {
    let sub = subsystem(service);
    let family = |suffix: &str| format!("lessor_{sub}_{suffix}");
    for &(services, name, suffix, key, value) in WHOLE {
        if name == counter && services.contains(&service) {
            return Mapped {
                family: family(suffix),
                label: (!key.is_empty()).then(|| (key, value.to_string())),
            };
        }
    }
    for &(services, prefix, suffix, key) in PREFIXES {
        if let Some(value) = counter.strip_prefix(prefix) {
            if services.contains(&service) {
                return Mapped {
                    family: family(suffix),
                    label: Some((key, value.to_string())),
                };
            }
        }
    }
    Mapped {
        family: family(&counter.replace('-', "_")),
        label: None,
    }
}

/// What a service is, for the help text of the counters no rule names.
fn describe(service: &str) -> &str {
    match service {
        "udp4" => "DHCPv4 sockets",
        "udp6" => "DHCPv6 sockets",
        "router4" => "DHCPv4 router",
        "router6" => "DHCPv6 router",
        "dhcp4" => "DHCPv4 engine",
        "dhcp6" => "DHCPv6 engine",
        "leasequery4" => "DHCPv4 leasequery responder",
        "leasequery6" => "DHCPv6 leasequery responder",
        "bulk4" => "DHCPv4 bulk leasequery",
        "bulk6" => "DHCPv6 bulk leasequery",
        s => s,
    }
}

/// The help text of a family [`map`] returned for `service`.
pub fn help(service: &str, family: &str, counter: &str) -> String {
    let what = describe(service);
    let suffix = family
        .strip_prefix("lessor_")
        .and_then(|f| f.split_once('_'))
        .map_or(family, |(_, s)| s);
    let text = match suffix {
        "received_datagrams" => "Datagrams received",
        "truncated_datagrams" => "Datagrams larger than the receive buffer, dropped",
        "sent_datagrams" => "Datagrams sent, by destination kind",
        "received_messages" => "Messages received, by message type (whatever became of them)",
        "relayed_messages" => "Client messages that came through relays, by message type",
        "routed_messages" => "Messages routed to a service",
        "discarded_messages" => "Messages the router discarded, by reason",
        "sent_messages" => "Messages sent, by message type",
        "dropped_messages" => "Messages that got no reply, by reason",
        "dropped_queries" => "Queries that got no reply, by reason",
        "received_queries" => "Queries handed to the responder",
        "examined_entries" => "Index entries the answered queries examined",
        "legacy_queries" => "draft-ietf-dhc-leasequery-00 queries",
        "queries" => "Queries taken, by query key",
        "replies" => "Replies sent, by what they carry",
        "connections_accepted" => "Connections accepted",
        "connections_refused" => "Connections closed at once, by reason",
        "connections_closed" => "Connections ended, by reason",
        "connections_by_dialect" => "Connections by the dialect they spoke",
        "query_failures" => "Queries refused or ended with a failure status, by status",
        "bindings_streamed" => "Bindings sent",
        "binding_messages" => "Binding messages sent in streams, by message type",
        _ => match own_help(family) {
            Some(text) => text,
            None => return format!("{what}: {counter} (docs/operator-guide.md, Metrics)"),
        },
    };
    format!("{what}: {text}")
}

/// The help of counters that keep their own name.
fn own_help(family: &str) -> Option<&'static str> {
    let sub = family.strip_prefix("lessor_")?;
    let (service, rest) = sub.split_once('_')?;
    Some(match (service, rest) {
        ("udp4" | "udp6", "receive_errors") => "Receive errors",
        ("udp4" | "udp6", "send_errors") => {
            "Replies that could not be sent (a send error, no socket for the interface)"
        }
        ("udp4" | "udp6", "send_timeouts") => {
            "Replies dropped because the socket's send buffer stayed full for 100 ms"
        }
        ("udp4" | "udp6", "segmented") => {
            "Replies sent in a segmented send (one send for a run of equal-sized replies to one \
             destination); also counted in sent_datagrams"
        }
        ("udp4" | "udp6", "broadcast_fallbacks") => {
            "Hardware destinations sent as broadcast (the neighbour entry could not be installed)"
        }
        ("dhcp4" | "dhcp6", "commit_failed") => "Replies not sent because their commit failed",
        ("dhcp4" | "dhcp6", "commit_taken") => {
            "Replies not sent because another server sharing the lease set changed their \
             binding first"
        }
        ("dhcp4" | "dhcp6", "requests_while_failing") => {
            "Requests handled while the store could not commit"
        }
        ("dhcp4" | "dhcp6", "expired") => "Bindings moved from active to expired",
        ("dhcp4", "offers_forgotten") => {
            "Offers forgotten (timed out, or the client chose another server)"
        }
        ("dhcp6", "adverts_forgotten") => {
            "Advertised bindings forgotten (timed out, or the client chose another server)"
        }
        ("dhcp4" | "dhcp6", "released") => "Releases applied",
        ("dhcp4" | "dhcp6", "declined") => "Declines applied",
        ("dhcp4", "selection_ignored") => {
            "Subnet or link selection in a direct client's message, not honoured"
        }
        ("dhcp4", "fields_truncated") => "Host names or vendor classes kept cut to 255 octets",
        ("dhcp4", "options_omitted") => {
            "Options left out of replies to fit the client's maximum message size"
        }
        ("dhcp6", "use_multicast") => "REPLYs with status UseMulticast",
        ("dhcp6", "rapid_commits") => "SOLICITs with Rapid Commit answered with a REPLY",
        ("dhcp6", "no_addrs_avail") => "IAs answered NoAddrsAvail",
        ("dhcp6", "no_prefix_avail") => "IAs answered NoPrefixAvail",
        ("dhcp6", "no_binding") => "IAs answered NoBinding",
        ("dhcp6", "not_on_link") => "CONFIRMs answered NotOnLink",
        ("dhcp6", "relay_chain_too_long") => {
            "Bindings kept without their relay chain (longer than the store keeps)"
        }
        ("dhcp6", "relay_field_too_long") => {
            "Relay identifiers not kept (longer than the store keeps)"
        }
        ("dhcp6", "ias_ignored") => "IA options beyond the most one message is answered for",
        ("leasequery4" | "leasequery6", "examine_capped") => {
            "Queries whose index walk stopped at its bound"
        }
        ("leasequery4" | "leasequery6", "truncated") => {
            "Replies cut to fit the requester's maximum message size or a datagram"
        }
        ("leasequery4", "to_source_port") => "Replies sent to the query's source port",
        ("leasequery6", "relayed") => "Queries answered that came inside a RELAY-FORW",
        ("bulk4" | "bulk6", "done") => "Queries that ended successfully (DONE sent)",
        ("bulk4", "unassigned") => "Single DHCPLEASEUNASSIGNED answers (draft dialect)",
        ("bulk4", "unknown") => "Single DHCPLEASEUNKNOWN answers (draft dialect)",
        ("bulk6", "empty") => "LEASEQUERY-REPLYs without binding (nothing matched)",
        ("bulk4" | "bulk6", "aborted") => {
            "Queries aborted with UnspecFail because a message could not be framed"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(service: &str, counter: &str) -> (String, Option<(&'static str, String)>) {
        let m = map(service, counter);
        (m.family, m.label)
    }

    #[test]
    fn values_become_labels_and_the_rest_keeps_its_name() {
        assert_eq!(
            m("dhcp4", "dropped-rate-limited-client"),
            (
                "lessor_dhcp4_dropped_messages".into(),
                Some(("reason", "rate-limited-client".into()))
            )
        );
        assert_eq!(
            m("router4", "received-dhcpdiscover"),
            (
                "lessor_dhcp4_received_messages".into(),
                Some(("type", "dhcpdiscover".into()))
            )
        );
        assert_eq!(
            m("dhcp4", "acks"),
            (
                "lessor_dhcp4_sent_messages".into(),
                Some(("type", "dhcpack".into()))
            )
        );
        assert_eq!(
            m("dhcp4", "commit-failed"),
            ("lessor_dhcp4_commit_failed".into(), None)
        );
        assert_eq!(
            m("udp6", "sent-multicast"),
            (
                "lessor_udp6_sent_datagrams".into(),
                Some(("destination", "multicast".into()))
            )
        );
        // Segmented replies are counted again apart, not as a destination.
        assert_eq!(
            m("udp4", "segmented"),
            ("lessor_udp4_segmented".into(), None)
        );
        assert!(help("udp6", "lessor_udp6_segmented", "x").contains("segmented send"));
        // A prefix is a label only for the services it is written for.
        assert_eq!(
            m("dhcp6", "relayed-solicit"),
            ("lessor_dhcp6_relayed_solicit".into(), None)
        );
        assert_eq!(
            m("leasequery4", "received"),
            ("lessor_leasequery4_received_queries".into(), None)
        );
        assert!(help("dhcp4", "lessor_dhcp4_dropped_messages", "x").contains("by reason"));
        assert_eq!(
            help("dhcp4", "lessor_dhcp4_expired", "expired"),
            "DHCPv4 engine: Bindings moved from active to expired"
        );
        assert_eq!(
            help("dhcp4", "lessor_dhcp4_new_one", "new-one"),
            "DHCPv4 engine: new-one (docs/operator-guide.md, Metrics)"
        );
    }
}
