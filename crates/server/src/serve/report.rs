//! How the counters of the sockets, the leasequery responder and the bulk service report
//! themselves ([`Report`]), written from their public readings so that the services' own
//! modules stay about the protocol.

use crate::bulk4::{self, CloseReason, Status};
use crate::leasequery4::{self, QueryKind};
use crate::stats::Report;
use lessor_net::udp;

const KINDS: [(QueryKind, &str); 5] = [
    (QueryKind::Ip, "ip"),
    (QueryKind::Mac, "mac"),
    (QueryKind::ClientId, "client-id"),
    (QueryKind::RemoteId, "remote-id"),
    (QueryKind::RelayId, "relay-id"),
];

impl Report for udp::Counters {
    fn report(&self, out: &mut dyn FnMut(&str, u64)) {
        let c = self.snapshot();
        out("received", c.received);
        out("receive-errors", c.receive_errors);
        out("truncated", c.truncated);
        out("sent-relay", c.sent_relay);
        out("sent-client", c.sent_client);
        out("sent-broadcast", c.sent_broadcast);
        out("sent-hardware", c.sent_hardware);
        out("sent-multicast", c.sent_multicast);
        out("segmented", c.sent_segmented);
        out("send-errors", c.send_errors);
        out("send-timeouts", c.send_timeouts);
        out("broadcast-fallbacks", c.fallbacks);
    }
}

impl Report for leasequery4::Counters {
    fn report(&self, out: &mut dyn FnMut(&str, u64)) {
        out("received", self.received.get());
        for (kind, name) in KINDS {
            out(&format!("query-{name}"), self.queries(kind));
        }
        out("legacy", self.legacy.get());
        out("active", self.active.get());
        out("unassigned", self.unassigned.get());
        out("unknown", self.unknown.get());
        out("legacy-ack", self.legacy_ack.get());
        out("legacy-nak", self.legacy_nak.get());
        out("examined", self.examined.get());
        out("examine-capped", self.examine_capped.get());
        out("truncated", self.truncated.get());
        out("to-source-port", self.to_source_port.get());
        for reason in leasequery4::DropReason::ALL {
            out(&format!("dropped-{}", reason.name()), self.dropped(reason));
        }
    }
}

impl Report for bulk4::Counters {
    fn report(&self, out: &mut dyn FnMut(&str, u64)) {
        out("accepted", self.accepted.get());
        out("refused-not-allowed", self.refused_not_allowed.get());
        out("refused-limit", self.refused_limit.get());
        out("refused-per-requester", self.refused_per_requester.get());
        out("draft", self.draft.get());
        out("rfc6926", self.rfc6926.get());
        for (kind, name) in KINDS {
            out(&format!("query-{name}"), self.queries(kind));
        }
        for status in Status::ALL {
            out(&format!("failed-{}", status.name()), self.failures(status));
        }
        out("bindings", self.bindings.get());
        out("sent-dhcpleaseactive", self.active.get());
        out("sent-dhcpleasedata", self.data.get());
        out("sent-dhcpleaseunassigned", self.unassigned_bindings.get());
        out("done", self.done.get());
        out("unassigned", self.unassigned.get());
        out("unknown", self.unknown.get());
        out("aborted", self.aborted.get());
        for reason in CloseReason::ALL {
            out(&format!("closed-{}", reason.name()), self.closed(reason));
        }
    }
}

impl Report for crate::bulk6::Counters {
    fn report(&self, out: &mut dyn FnMut(&str, u64)) {
        out("accepted", self.accepted.get());
        out("refused-not-allowed", self.refused_not_allowed.get());
        out("refused-limit", self.refused_limit.get());
        out("refused-per-requester", self.refused_per_requester.get());
        for (t, name) in [
            (1, "address"),
            (2, "client-id"),
            (3, "relay-id"),
            (4, "link-address"),
            (5, "remote-id"),
        ] {
            out(&format!("query-{name}"), self.queries(t));
        }
        out("bindings", self.bindings.get());
        out("done", self.done.get());
        out("empty", self.empty.get());
        out("aborted", self.aborted.get());
        for code in crate::bulk6::counters::STATUSES {
            let name = lessor_wire::v6::status::name(code).unwrap_or("other");
            out(&format!("status-{name}"), self.failures(code));
        }
        for reason in CloseReason::ALL {
            out(&format!("closed-{}", reason.name()), self.closed(reason));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::line;

    #[test]
    fn every_counter_set_reports_what_moved() {
        let sockets = udp::Counters::default();
        sockets
            .received
            .fetch_add(3, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(line(&sockets), "received=3");
        let lq = leasequery4::Counters::default();
        lq.received.add();
        lq.by_mac.add();
        assert_eq!(line(&lq), "received=1 query-mac=1");
        let bulk = bulk4::Counters::default();
        bulk.accepted.add();
        bulk.count_close(CloseReason::Finished);
        assert_eq!(line(&bulk), "accepted=1 closed-finished=1");
    }
}
