//! What the nodes of a cluster tell each other over Redis, and how it is encoded.
//!
//! Owns: the publication format: one JSON header line, then (for frames) the frame's text exactly
//! as a socket sends it, so a frame is serialised once on its node and copied, never re-encoded,
//! on the others. Also the names of the Redis channels and keys.
//! Must not: talk to Redis or to sockets.

use crate::protocol::Person;
use serde::{Deserialize, Serialize};

/// One publication's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum Header {
    /// The frame after the header, for every socket of `to` on the receiving node; `id` for a
    /// `message` frame (exactly-once bookkeeping), `close` to close those sockets instead.
    #[serde(rename = "frame")]
    Frame {
        to: Vec<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        close: Option<u16>,
    },
    /// `node` holds sockets of `person` (first socket, new courses, or a change of `away`: all
    /// of them idle or hidden). `away` is left out when false, so a node without it reads the
    /// header as before (and a header without it is an active user).
    #[serde(rename = "online")]
    Online {
        node: String,
        person: Person,
        courses: Vec<i64>,
        #[serde(default, skip_serializing_if = "is_false")]
        away: bool,
    },
    /// `node` holds no socket of `user` any more; the last left at `at` (Unix seconds; absent
    /// from older nodes).
    #[serde(rename = "offline")]
    Offline {
        node: String,
        user: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<i64>,
    },
    /// Read rows a node wrote and announced itself.
    #[serde(rename = "reads")]
    Reads { ids: Vec<i64> },
    /// A block between these users changed: drop the pairs' cached facts.
    #[serde(rename = "pairs")]
    Pairs { pairs: Vec<(i64, i64)> },
    /// Dock windows (owner, peer) a node closed (their rows are gone): forget they exist, so the
    /// next send between the two opens them again; `all`: forget every window known (a node's
    /// earlier announcement of closes was lost).
    #[serde(rename = "windows")]
    Windows {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        closed: Vec<(i64, i64)>,
        #[serde(default, skip_serializing_if = "is_false")]
        all: bool,
    },
    /// A node's probe of its own subscription, on its own channel: heard back, the subscription
    /// delivers; not heard within a bound, it is rebuilt.
    #[serde(rename = "probe")]
    Probe { n: u64 },
    /// `node` (re)joined and has rewritten its presence snapshot: read it again.
    #[serde(rename = "hello")]
    Hello { node: String },
    /// `node` is shutting down cleanly.
    #[serde(rename = "bye")]
    Bye { node: String },
    /// `node` stopped beating and was buried by the node that says so: its users are offline.
    #[serde(rename = "gone")]
    Gone { node: String },
}

/// One entry of a node's presence snapshot (a hash field per user).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub person: Person,
    pub courses: Vec<i64>,
    /// All of the node's sockets of the user are idle or hidden (absent: false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub away: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why a publication could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("publication header is not valid: {0}")]
    Header(#[from] serde_json::Error),
    #[error("publication body is not UTF-8")]
    Body,
}

/// Encodes a header and (possibly empty) frame text.
pub fn encode(header: &Header, frame: &str) -> Vec<u8> {
    // Serialising a plain enum of numbers and strings cannot fail.
    let mut out = serde_json::to_vec(header).unwrap_or_default();
    out.reserve(frame.len() + 1);
    out.push(b'\n');
    out.extend_from_slice(frame.as_bytes());
    out
}

/// Decodes a publication into its header and frame text.
pub fn decode(payload: &[u8]) -> Result<(Header, &str), WireError> {
    let (head, body) = match payload.iter().position(|b| *b == b'\n') {
        Some(at) => (&payload[..at], &payload[at + 1..]),
        None => (payload, &[][..]),
    };
    let header = serde_json::from_slice(head)?;
    let body = std::str::from_utf8(body).map_err(|_| WireError::Body)?;
    Ok((header, body))
}

/// The Redis names of one cluster (all under its prefix).
#[derive(Debug, Clone)]
pub struct Names {
    prefix: String,
}

impl Names {
    pub fn new(prefix: &str) -> Self {
        Names {
            prefix: prefix.to_string(),
        }
    }

    /// The channel of frames for `node`'s sockets.
    pub fn node_channel(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    /// The channel every node listens to (presence, reads, joins and leaves).
    pub fn all_channel(&self) -> String {
        format!("{}:all", self.prefix)
    }

    /// Sorted set: node → time of its last heartbeat (Redis's clock, ms).
    pub fn nodes_key(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    /// Hash: user id → [`Snapshot`], for the users `node` holds sockets of.
    pub fn presence_key(&self, node: &str) -> String {
        format!("{}:presence:{node}", self.prefix)
    }
}

/// The reason sent with a close code that came from another node (close reasons are fixed
/// strings on every node).
pub fn close_reason(code: u16) -> &'static str {
    use crate::protocol::close;
    match code {
        close::ACCOUNT_UNAVAILABLE => "account unavailable",
        close::SESSION_ENDED => "Moodle session ended",
        close::TOKEN_EXPIRED => "token expired",
        close::RESTART => "server restarting",
        _ => "closed by the server",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_travel_unchanged() {
        let frame = r#"{"type":"message","text":"line one\nline two ✓"}"#;
        let h = Header::Frame {
            to: vec![3, 4],
            id: Some(99),
            close: None,
        };
        let bytes = encode(&h, frame);
        let (back, body) = decode(&bytes).expect("decodes");
        assert_eq!(back, h);
        assert_eq!(body, frame);
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap().lines().next().unwrap(),
            r#"{"k":"frame","to":[3,4],"id":99}"#
        );
    }

    #[test]
    fn presence_headers_round_trip() {
        let h = Header::Online {
            node: "a:1".into(),
            person: Person {
                id: 7,
                fullname: "Ana Lima".into(),
                avatar: "https://m.example/u/f1".into(),
            },
            courses: vec![2, 5],
            away: false,
        };
        let bytes = encode(&h, "");
        let (back, body) = decode(&bytes).unwrap();
        assert_eq!(back, h);
        assert_eq!(body, "");
        // An older node's header (no away) is an active user; an active user's header is the
        // older form exactly, and an away one still reads on a node that ignores the field.
        assert!(!std::str::from_utf8(&bytes).unwrap().contains("away"));
        let away = encode(
            &Header::Online {
                node: "a:1".into(),
                person: Person::id_only(7),
                courses: vec![],
                away: true,
            },
            "",
        );
        assert!(std::str::from_utf8(&away)
            .unwrap()
            .contains(r#""away":true"#));
        let (old, _) = decode(b"{\"k\":\"offline\",\"node\":\"a:1\",\"user\":7}\n").unwrap();
        assert_eq!(
            old,
            Header::Offline {
                node: "a:1".into(),
                user: 7,
                at: None
            }
        );
        let w = Header::Windows {
            closed: vec![(7, 9)],
            all: false,
        };
        let bytes = encode(&w, "");
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "{\"k\":\"windows\",\"closed\":[[7,9]]}\n"
        );
        assert_eq!(decode(&bytes).unwrap().0, w);
        assert_eq!(
            decode(b"{\"k\":\"windows\",\"all\":true}\n").unwrap().0,
            Header::Windows {
                closed: vec![],
                all: true
            }
        );
        let probe = encode(&Header::Probe { n: 3 }, "");
        assert_eq!(
            std::str::from_utf8(&probe).unwrap(),
            "{\"k\":\"probe\",\"n\":3}\n"
        );
        assert!(decode(b"{\"k\":\"nope\"}\n").is_err());
        assert!(decode(b"{\"k\":\"frame\",\"to\":[1]}\n\xff").is_err());
    }
}
