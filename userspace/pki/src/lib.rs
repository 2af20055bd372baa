//! Certificate stores and TLS policy (work in progress).
