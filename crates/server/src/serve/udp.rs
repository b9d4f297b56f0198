//! What the DHCPv4 and DHCPv6 UDP services share in the shell: opening a family's sockets, how
//! many threads read each, where an engine's [`Output`] goes, and when a receive thread spins
//! ([`SpinRule`]).

use super::{GroupOutbox, ServeError};
use crate::dhcp4::Output;
use lessor_net::udp::{Family, OpenError, Sockets, V6Options};
use lessor_net::{Outgoing, Transmit};
use lessor_store::StoreError;
use std::net::IpAddr;
use std::sync::Arc;

/// Opens a service's sockets. A port another process holds is refused
/// ([`ServeError::Refused`]): two servers answering one link is the fault it prevents.
pub(super) fn open(
    family: Family,
    listen: &[IpAddr],
    interfaces: &[String],
    port: u16,
    v6: &V6Options,
) -> Result<Sockets, ServeError> {
    Sockets::open(family, listen, interfaces, port, v6).map_err(|e| match e {
        OpenError::Held { .. } => ServeError::Refused(format!("{e}; refusing to start")),
        e => ServeError::Sockets(e.to_string()),
    })
}

/// Receive threads per socket: as configured, else half the CPUs available (the kernel's
/// network work, the store writer and other processes need the rest), 1 to 4.
pub(super) fn receive_threads(configured: Option<u16>) -> usize {
    configured.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 4))
    })
}

/// Sends an engine's `output`: a reply for now joins `pending` (sent with the batch); a reply
/// waiting for its bindings leaves through `durable` once they are, those of one group commit
/// together, and never when the commit failed.
pub(super) fn dispatch(output: Output, pending: &mut Vec<Outgoing>, durable: &Arc<GroupOutbox>) {
    match output {
        Output::Nothing => {}
        Output::Now(reply) => pending.push(reply),
        Output::WhenDurable(reply, deferred, taken) => {
            let durable = Arc::clone(durable);
            deferred.on_durable(move |result| match (result, taken) {
                (Ok(()), _) => durable.send(reply),
                (Err(StoreError::Taken), Some(instead)) => durable.send(instead),
                _ => {}
            });
        }
    }
}

/// When a receive thread may poll its socket for a while after a batch
/// ([`lessor_net::udp::Handler::worth_spinning`]): only after batches of leasequery answers. A
/// client's DHCP exchange makes the store's writer thread work (a reply waits for its commit,
/// every offer, advertisement and lease is a write): a spinning receive thread takes the CPU
/// from it, and its clients come back no sooner. A leasequery reads a snapshot and writes
/// nothing, and its requester's next query comes as soon as the answer is out.
#[derive(Debug, Default)]
pub(super) struct SpinRule {
    /// The current batch had a message for the DHCP engine.
    engine_in_batch: bool,
}

impl SpinRule {
    /// A message of the current batch went to the DHCP engine.
    pub(super) fn engine(&mut self) {
        self.engine_in_batch = true;
    }

    /// At the end of a batch: whether spinning may pay; starts the next batch.
    pub(super) fn worth_spinning(&mut self) -> bool {
        !std::mem::take(&mut self.engine_in_batch)
    }
}

#[cfg(test)]
mod tests {
    use super::SpinRule;

    #[test]
    fn only_batches_without_dhcp_messages_spin() {
        let mut rule = SpinRule::default();
        assert!(rule.worth_spinning(), "leasequeries only");
        rule.engine();
        rule.engine();
        assert!(!rule.worth_spinning(), "a DHCP message in the batch");
        assert!(rule.worth_spinning(), "each batch starts afresh");
    }
}
