//! dgw SIP user agent: persistent TLS connections, registration, calls and status (the SipEp service).
