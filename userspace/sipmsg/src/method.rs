//! Request methods.

use std::fmt;
use std::str::FromStr;

use crate::{err, is_token, ParseError};

/// A SIP request method. Method names are case-sensitive (RFC 3261 7.1), so `invite` is
/// `Other("invite")`, not [`Method::Invite`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// `INVITE`
    Invite,
    /// `ACK`
    Ack,
    /// `BYE`
    Bye,
    /// `CANCEL`
    Cancel,
    /// `OPTIONS`
    Options,
    /// `REGISTER`
    Register,
    /// Any other method token (SUBSCRIBE, NOTIFY, INFO, ...), as written.
    Other(String),
}

impl Method {
    /// The method name as it goes on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = ParseError;

    /// Accepts any non-empty RFC 3261 token.
    fn from_str(s: &str) -> Result<Method, ParseError> {
        Ok(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            _ if is_token(s) => Method::Other(s.to_string()),
            _ => return err("bad method"),
        })
    }
}
