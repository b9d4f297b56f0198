"""Reusable end-to-end harness for Lessor: network namespaces, processes,
ISC dhcpd/dhcrelay/dhclient, tshark capture/decoding and Scapy helpers.

Everything here runs as root, only inside namespaces the harness creates,
and only with documentation address ranges (see addressing.py)."""
