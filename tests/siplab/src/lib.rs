//! dgw SIP test lab: Kamailio, baresip and SIPp started on loopback by tests.
