//! dgw SDP offer/answer (RFC 3264) with SDES SRTP keys (RFC 4568 a=crypto).
