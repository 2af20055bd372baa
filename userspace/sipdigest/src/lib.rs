//! dgw SIP digest authentication (RFC 2617/7616/8760: MD5 and SHA-256, qop=auth), client and verifier.
