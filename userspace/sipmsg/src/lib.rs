//! dgw SIP messages: a defensive parser, serializer and stream framer (Content-Length, RFC 5626 keep-alives, the DGW's 5120-byte limit).
