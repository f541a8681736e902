//! Wire types of protocol version 1 (docs/PROTOCOL.md), and nothing else.
//!
//! Owns: the JSON shape of every client and server frame, the stable error codes, the close codes and
//! the decoding of one text frame into a [`ClientFrame`] with the error code a bad frame deserves.
//! Must not: do I/O, touch the database, or know about connections. Every other module speaks to the
//! browser only through these types, so this file and docs/PROTOCOL.md change together.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version sent in `welcome` and expected in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;
/// At most this many messages travel in one `missed` frame.
pub const MISSED_CHUNK: usize = 200;
/// Default `limit` of a `history` request.
pub const HISTORY_DEFAULT: u32 = 30;
/// Longest accepted client message id.
pub const CID_MAX_LEN: usize = 64;

/// WebSocket close codes (docs/PROTOCOL.md §7).
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const TOO_BIG: u16 = 1009;
    pub const RESTART: u16 = 1012;
    pub const TOKEN_INVALID: u16 = 4001;
    pub const TOKEN_EXPIRED: u16 = 4002;
    pub const ACCOUNT_UNAVAILABLE: u16 = 4003;
    pub const SESSION_ENDED: u16 = 4004;
    pub const AUTH_TIMEOUT: u16 = 4005;
    pub const ABUSIVE: u16 = 4008;
    pub const TOO_SLOW: u16 = 4009;
    pub const TOO_MANY: u16 = 4029;
}

/// Stable error codes of `error` frames (docs/PROTOCOL.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    UnknownType,
    BadFrame,
    BinaryUnsupported,
    FrameTooLarge,
    NotAuthenticated,
    AlreadyAuthenticated,
    BadCid,
    TextEmpty,
    TextTooLong,
    BadRecipient,
    UnknownUser,
    MessagingDisabled,
    NoPermission,
    Blocked,
    NotContactable,
    ContactsOnly,
    RateLimited,
    TokenInvalid,
    TokenMismatch,
    ConversationDisabled,
    NotMember,
    UnknownCourse,
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::BinaryUnsupported => "binary_unsupported",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::AlreadyAuthenticated => "already_authenticated",
            ErrorCode::BadCid => "bad_cid",
            ErrorCode::TextEmpty => "text_empty",
            ErrorCode::TextTooLong => "text_too_long",
            ErrorCode::BadRecipient => "bad_recipient",
            ErrorCode::UnknownUser => "unknown_user",
            ErrorCode::MessagingDisabled => "messaging_disabled",
            ErrorCode::NoPermission => "no_permission",
            ErrorCode::Blocked => "blocked",
            ErrorCode::NotContactable => "not_contactable",
            ErrorCode::ContactsOnly => "contacts_only",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TokenInvalid => "token_invalid",
            ErrorCode::TokenMismatch => "token_mismatch",
            ErrorCode::ConversationDisabled => "conversation_disabled",
            ErrorCode::NotMember => "not_member",
            ErrorCode::UnknownCourse => "unknown_course",
            ErrorCode::Internal => "internal",
        }
    }

    /// A short English explanation for logs and developers.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "the frame is not a JSON object",
            ErrorCode::UnknownType => "type is missing or unknown",
            ErrorCode::BadFrame => "a field is missing, has the wrong type or is out of range",
            ErrorCode::BinaryUnsupported => "binary frames are not supported",
            ErrorCode::FrameTooLarge => "the frame is too large",
            ErrorCode::NotAuthenticated => "send hello first",
            ErrorCode::AlreadyAuthenticated => "already authenticated",
            ErrorCode::BadCid => "cid must be 1-64 characters of a-z 0-9 _ -",
            ErrorCode::TextEmpty => "text is empty",
            ErrorCode::TextTooLong => "text is too long",
            ErrorCode::BadRecipient => "you cannot talk to yourself",
            ErrorCode::UnknownUser => "no such active user",
            ErrorCode::MessagingDisabled => "messaging is disabled on this site",
            ErrorCode::NoPermission => "you may not send messages",
            ErrorCode::Blocked => "the recipient has blocked you",
            ErrorCode::NotContactable => "the recipient does not accept messages from you",
            ErrorCode::ContactsOnly => "the recipient accepts messages from contacts only",
            ErrorCode::RateLimited => "too many frames, slow down",
            ErrorCode::TokenInvalid => "the token was refused",
            ErrorCode::TokenMismatch => "the token is for another user",
            ErrorCode::ConversationDisabled => "this conversation is disabled in Moodle",
            ErrorCode::NotMember => "no such conversation, or you are not a member of it",
            ErrorCode::UnknownCourse => "no such course, or not one of your courses",
            ErrorCode::Internal => "internal error, nothing was stored; retry",
        }
    }
}

/// A bad client frame, classified by the error code it is answered with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("not a JSON object")]
    BadJson,
    #[error("missing or unknown type")]
    UnknownType,
    #[error("bad frame: {0}")]
    BadFrame(String),
}

impl ProtocolError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::BadJson => ErrorCode::BadJson,
            ProtocolError::UnknownType => ErrorCode::UnknownType,
            ProtocolError::BadFrame(_) => ErrorCode::BadFrame,
        }
    }
}

/// Window states a client may request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowState {
    Open,
    Minimised,
    Closed,
}

/// A conversation's state for the window menu (`history` `flags`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flags {
    /// The conversation's id, 0 while a pair has none.
    pub conv: i64,
    pub muted: bool,
    pub starred: bool,
    /// Individual only: whether you have blocked the other user.
    pub blocked: bool,
}

/// What a socket reports of its browser's tabs (docs/PROTOCOL.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    /// A tab is visible and had input within 5 minutes.
    #[default]
    Active,
    /// No input in any tab for 5 minutes.
    Idle,
    /// Every tab hidden.
    Hidden,
}

impl Activity {
    pub fn is_active(self) -> bool {
        self == Activity::Active
    }
}

/// A user's presence as course-mates see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Online,
    Away,
    Offline,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Online => "online",
            Status::Away => "away",
            Status::Offline => "offline",
        }
    }
}

/// Frames sent by the browser.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    Hello {
        v: u32,
        token: String,
        #[serde(default)]
        since: Option<i64>,
        /// The socket's first activity state (absent: active).
        #[serde(default)]
        state: Option<Activity>,
    },
    Token {
        token: String,
    },
    /// Exactly one of `to` and `conv` (checked by [`decode`]).
    Send {
        #[serde(default)]
        to: Option<i64>,
        #[serde(default)]
        conv: Option<i64>,
        cid: String,
        text: String,
    },
    /// Exactly one of `with` and `conv`.
    History {
        #[serde(default)]
        with: Option<i64>,
        #[serde(default)]
        conv: Option<i64>,
        #[serde(default)]
        before: Option<i64>,
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Exactly one of `with` and `conv`.
    Read {
        #[serde(default)]
        with: Option<i64>,
        #[serde(default)]
        conv: Option<i64>,
        upto: i64,
    },
    /// Exactly one of `to` and `conv`.
    Typing {
        #[serde(default)]
        to: Option<i64>,
        #[serde(default)]
        conv: Option<i64>,
    },
    Window {
        with: i64,
        state: WindowState,
    },
    Conversations {
        #[serde(default)]
        offset: Option<u32>,
        #[serde(default)]
        limit: Option<u32>,
    },
    People {
        query: String,
    },
    /// Block (`block: true`) or unblock a user (§4.1).
    Block {
        user: i64,
        block: bool,
    },
    /// Mute or unmute a conversation; exactly one of `with` and `conv`.
    Mute {
        #[serde(default)]
        with: Option<i64>,
        #[serde(default)]
        conv: Option<i64>,
        mute: bool,
    },
    /// Relay Moodle's star of a conversation; exactly one of `with` and `conv`.
    Star {
        #[serde(default)]
        with: Option<i64>,
        #[serde(default)]
        conv: Option<i64>,
    },
    /// Delete one message for me.
    Delete {
        id: i64,
    },
    /// Delete a conversation for me; exactly one of `with` and `conv`.
    DeleteConversation {
        #[serde(default)]
        with: Option<i64>,
        #[serde(default)]
        conv: Option<i64>,
    },
    Activity {
        state: Activity,
    },
    Roster {},
    CourseMembers {
        course: i64,
        #[serde(default)]
        offset: Option<u32>,
        #[serde(default)]
        limit: Option<u32>,
    },
    Ping {
        #[serde(default)]
        n: Option<Value>,
    },
}

const CLIENT_TYPES: &[&str] = &[
    "hello",
    "token",
    "send",
    "history",
    "read",
    "typing",
    "window",
    "conversations",
    "people",
    "block",
    "mute",
    "star",
    "delete",
    "delete_conversation",
    "activity",
    "roster",
    "course_members",
    "ping",
];

/// A `people` query: 2–100 characters after trimming, at most 3 words searched.
pub const PEOPLE_QUERY_MIN: usize = 2;
pub const PEOPLE_QUERY_MAX: usize = 100;
pub const PEOPLE_WORDS_MAX: usize = 3;
/// Most people a search returns.
pub const PEOPLE_MAX: usize = 20;

/// Most members in one `course_members` page, and the default.
pub const COURSE_MEMBERS_MAX: u32 = 100;
pub const COURSE_MEMBERS_DEFAULT: u32 = 50;

/// Most conversations in one `conversations` page, and the default.
pub const CONVERSATIONS_MAX: u32 = 50;
pub const CONVERSATIONS_DEFAULT: u32 = 20;

impl ClientFrame {
    /// The frame's `type`, used as `ref` of an error answering it.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientFrame::Hello { .. } => "hello",
            ClientFrame::Token { .. } => "token",
            ClientFrame::Send { .. } => "send",
            ClientFrame::History { .. } => "history",
            ClientFrame::Read { .. } => "read",
            ClientFrame::Typing { .. } => "typing",
            ClientFrame::Window { .. } => "window",
            ClientFrame::Conversations { .. } => "conversations",
            ClientFrame::People { .. } => "people",
            ClientFrame::Block { .. } => "block",
            ClientFrame::Mute { .. } => "mute",
            ClientFrame::Star { .. } => "star",
            ClientFrame::Delete { .. } => "delete",
            ClientFrame::DeleteConversation { .. } => "delete_conversation",
            ClientFrame::Activity { .. } => "activity",
            ClientFrame::Roster { .. } => "roster",
            ClientFrame::CourseMembers { .. } => "course_members",
            ClientFrame::Ping { .. } => "ping",
        }
    }
}

/// What a conversation-addressed frame names: the other user of an individual conversation, or a
/// Moodle conversation by id (docs/PROTOCOL.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    User(i64),
    Conv(i64),
}

impl Target {
    /// The target of a frame with a user field and a `conv` field: exactly one must be given.
    pub fn of(user: Option<i64>, conv: Option<i64>) -> Option<Target> {
        match (user, conv) {
            (Some(u), None) => Some(Target::User(u)),
            (None, Some(c)) => Some(Target::Conv(c)),
            _ => None,
        }
    }
}

/// Longest `ref` echoed from a client's unknown `type`, in bytes.
pub const REF_MAX_BYTES: usize = 32;

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary (a byte
/// offset inside a multi-byte character would panic in `truncate`).
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// Decodes one text frame. The error says which code to answer with; `Err` also carries the frame's
/// `type` when one could be read (for the `ref` field).
pub fn decode(text: &str) -> Result<ClientFrame, (ProtocolError, Option<String>)> {
    match decode_valid(text) {
        Some(frame) => Ok(frame),
        None => decode_value(text),
    }
}

/// [`decode`] through a `Value`: what a frame that is not valid as it stands is judged by.
fn decode_value(text: &str) -> Result<ClientFrame, (ProtocolError, Option<String>)> {
    let value: Value = serde_json::from_str(text).map_err(|_| (ProtocolError::BadJson, None))?;
    let Value::Object(map) = &value else {
        return Err((ProtocolError::BadJson, None));
    };
    let kind = match map.get("type") {
        Some(Value::String(s)) if CLIENT_TYPES.contains(&s.as_str()) => s.clone(),
        Some(Value::String(s)) => {
            return Err((
                ProtocolError::UnknownType,
                Some(clip(s, REF_MAX_BYTES).to_string()),
            ));
        }
        _ => return Err((ProtocolError::UnknownType, None)),
    };
    let frame: ClientFrame = serde_json::from_value(value)
        .map_err(|e| (ProtocolError::BadFrame(e.to_string()), Some(kind.clone())))?;
    validate(&frame).map_err(|e| (e, Some(kind)))?;
    Ok(frame)
}

/// The frame straight from the text, for a valid one (every frame a client sends, but for bugs):
/// [`decode`]'s `Value` step cost as much again as the frame itself. `None` whenever the text is
/// anything but an object with a string `type` naming a frame, decoding cleanly and valid, and
/// then [`decode`] works out the error (or, for a frame it reads differently, the frame: a repeated
/// key, which its `Value` keeps the last of, fails here).
fn decode_valid(text: &str) -> Option<ClientFrame> {
    /// Only the `type`, which must be a string (serde would also take a variant's index).
    #[derive(Deserialize)]
    struct Tag<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    // An object only: serde also reads a tagged enum from an array.
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let tag: Tag = serde_json::from_str(text).ok()?;
    if !CLIENT_TYPES.contains(&tag.kind.as_ref()) {
        return None;
    }
    let frame: ClientFrame = serde_json::from_str(text).ok()?;
    validate(&frame).ok()?;
    Some(frame)
}

fn validate(frame: &ClientFrame) -> Result<(), ProtocolError> {
    let positive = |what: &str, id: i64| {
        if id > 0 {
            Ok(())
        } else {
            Err(ProtocolError::BadFrame(format!(
                "{what} must be a positive id"
            )))
        }
    };
    let target =
        |user_field: &str, user: Option<i64>, conv: Option<i64>| match Target::of(user, conv) {
            Some(Target::User(id)) => positive(user_field, id),
            Some(Target::Conv(id)) => positive("conv", id),
            None => Err(ProtocolError::BadFrame(format!(
                "exactly one of {user_field} and conv is required"
            ))),
        };
    match frame {
        ClientFrame::Hello { since, .. } => {
            if let Some(s) = since {
                if *s < 0 {
                    return Err(ProtocolError::BadFrame("since must be >= 0".into()));
                }
            }
            Ok(())
        }
        ClientFrame::Send { to, conv, .. } => target("to", *to, *conv),
        ClientFrame::History {
            with,
            conv,
            before,
            limit,
        } => {
            target("with", *with, *conv)?;
            if let Some(b) = before {
                positive("before", *b)?;
            }
            if let Some(l) = limit {
                if *l == 0 {
                    return Err(ProtocolError::BadFrame("limit must be >= 1".into()));
                }
            }
            Ok(())
        }
        ClientFrame::Read { with, conv, upto } => {
            target("with", *with, *conv)?;
            if *upto < 0 {
                return Err(ProtocolError::BadFrame("upto must be >= 0".into()));
            }
            Ok(())
        }
        ClientFrame::Typing { to, conv } => target("to", *to, *conv),
        ClientFrame::Window { with, .. } => positive("with", *with),
        ClientFrame::Conversations { limit, .. } => match limit {
            Some(l) if *l == 0 || *l > CONVERSATIONS_MAX => Err(ProtocolError::BadFrame(format!(
                "limit must be 1-{CONVERSATIONS_MAX}"
            ))),
            _ => Ok(()),
        },
        ClientFrame::People { query } => {
            let n = query.trim().chars().count();
            if (PEOPLE_QUERY_MIN..=PEOPLE_QUERY_MAX).contains(&n) {
                Ok(())
            } else {
                Err(ProtocolError::BadFrame(format!(
                    "query must be {PEOPLE_QUERY_MIN}-{PEOPLE_QUERY_MAX} characters"
                )))
            }
        }
        ClientFrame::Block { user, .. } => positive("user", *user),
        ClientFrame::Mute { with, conv, .. }
        | ClientFrame::Star { with, conv }
        | ClientFrame::DeleteConversation { with, conv } => target("with", *with, *conv),
        ClientFrame::Delete { id } => positive("id", *id),
        ClientFrame::CourseMembers { course, limit, .. } => {
            positive("course", *course)?;
            match limit {
                Some(l) if *l == 0 || *l > COURSE_MEMBERS_MAX => Err(ProtocolError::BadFrame(
                    format!("limit must be 1-{COURSE_MEMBERS_MAX}"),
                )),
                _ => Ok(()),
            }
        }
        ClientFrame::Token { .. }
        | ClientFrame::Ping { .. }
        | ClientFrame::Activity { .. }
        | ClientFrame::Roster { .. } => Ok(()),
    }
}

/// Checks a client message id: 1–64 characters of `a-z 0-9 _ -`. Lower case only: MariaDB's
/// default collations compare `X1` and `x1` as equal while the daemon and PostgreSQL do not, so an
/// alphabet without case is the one rule on which every store agrees which cids are the same.
pub fn valid_cid(cid: &str) -> bool {
    !cid.is_empty()
        && cid.len() <= CID_MAX_LEN
        && cid
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Why a message text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong,
}

/// Control characters dropped from message texts: C0 controls except tab, line feed and carriage
/// return, and DEL. (PostgreSQL cannot store U+0000 at all; none of them is visible text.)
fn is_dropped_control(c: char) -> bool {
    (c < ' ' && c != '\t' && c != '\n' && c != '\r') || c == '\u{7f}'
}

/// Drops control characters (see `is_dropped_control`), trims trailing whitespace and checks the
/// length in Unicode scalar values.
pub fn normalise_text(
    text: &str,
    max_chars: usize,
) -> Result<std::borrow::Cow<'_, str>, TextError> {
    let cleaned: std::borrow::Cow<'_, str> = if text.chars().any(is_dropped_control) {
        std::borrow::Cow::Owned(text.chars().filter(|c| !is_dropped_control(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let trimmed_len = cleaned.trim_end().len();
    if trimmed_len == 0 {
        return Err(TextError::Empty);
    }
    if cleaned[..trimmed_len].chars().count() > max_chars {
        return Err(TextError::TooLong);
    }
    Ok(match cleaned {
        std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(&s[..trimmed_len]),
        std::borrow::Cow::Owned(mut s) => {
            s.truncate(trimmed_len);
            std::borrow::Cow::Owned(s)
        }
    })
}

/// A user as the client shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: i64,
    pub fullname: String,
    pub avatar: String,
}

impl Person {
    /// A user named by id only (`fullname` and `avatar` empty): what a frame about someone the
    /// recipient may not see, or whose name is not at hand, carries.
    pub fn id_only(id: i64) -> Person {
        Person {
            id,
            fullname: String::new(),
            avatar: String::new(),
        }
    }
}

/// A Person with a presence status, as listed in `welcome.online`.
#[derive(Debug, Clone, Serialize)]
pub struct OnlinePerson<'a> {
    #[serde(flatten)]
    pub person: &'a Person,
    pub status: Status,
}

/// A stored chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: i64,
    /// Moodle's conversation id.
    pub conv: i64,
    pub from: i64,
    pub to: i64,
    pub text: String,
    pub time: i64,
    pub cid: String,
}

/// Read markers of one conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReadMarkers {
    pub mine: i64,
    pub theirs: i64,
}

/// A docked window listed in `welcome`.
#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    pub with: Person,
    pub state: WindowState,
    pub unread: i64,
    pub read: ReadMarkers,
    pub last: i64,
    pub can_send: CanSend,
    /// The other user's presence, and when an offline one was last seen (if known and visible).
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}

/// Whether a `send` to a conversation would be accepted now, with the code it would get if not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CanSend {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
}

impl CanSend {
    pub const YES: CanSend = CanSend {
        ok: true,
        code: None,
    };

    pub fn refused(code: ErrorCode) -> CanSend {
        CanSend {
            ok: false,
            code: Some(code),
        }
    }
}

/// A person found by a `people` search, with whether they are online.
#[derive(Debug, Clone, Serialize)]
pub struct FoundPerson<'a> {
    #[serde(flatten)]
    pub person: &'a Person,
    pub online: bool,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}

/// A course contact's role as the roster shows it (PROTOCOL §5 Member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleBadge {
    /// The course's rename of the role, else `role.name`, else empty (the client then shows the
    /// localised default of `shortname`, as Moodle's `role_get_name` does).
    pub name: String,
    pub shortname: String,
}

/// One person of a `course_members` page.
#[derive(Debug, Clone, Serialize)]
pub struct CourseMember<'a> {
    #[serde(flatten)]
    pub person: &'a Person,
    pub online: bool,
    pub role: Option<&'a RoleBadge>,
}

/// A group conversation of a roster course.
#[derive(Debug, Clone, Serialize)]
pub struct RosterGroup {
    pub conv: i64,
    pub name: String,
    pub image: String,
    pub members: usize,
    pub online: usize,
}

/// A course of the `roster` frame.
#[derive(Debug, Clone, Serialize)]
pub struct RosterCourse {
    pub id: i64,
    pub name: String,
    pub groups: Vec<RosterGroup>,
}

/// Kinds of Moodle conversation, as `message_conversations.type` numbers them (1, 2, 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationType {
    Individual,
    Group,
    #[serde(rename = "self")]
    SelfConversation,
}

/// One conversation of the `conversations` list.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationInfo {
    pub conv: i64,
    #[serde(rename = "type")]
    pub kind: ConversationType,
    /// The other user (individual), yourself (self); none for a group.
    pub with: Option<Person>,
    pub name: String,
    pub members: i64,
    pub last: Option<Message>,
    pub unread: i64,
    pub favourite: bool,
    pub muted: bool,
    pub online: bool,
    /// Individual: the other user's presence, and when an offline one was last seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
    /// A group's picture (absent for other conversations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// Limits announced in `welcome`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WelcomeLimits {
    pub text_max_chars: usize,
    pub frame_max_bytes: usize,
    pub history_max: u32,
}

/// Frames sent by the daemon.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    Welcome {
        v: u32,
        user: &'a Person,
        online: Vec<OnlinePerson<'a>>,
        windows: &'a [WindowInfo],
        cursor: i64,
        token_exp: i64,
        server_time: i64,
        limits: WelcomeLimits,
    },
    Missed {
        messages: &'a [Message],
        cursor: i64,
        done: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        truncated: Option<bool>,
    },
    Presence {
        user: &'a Person,
        status: Status,
        /// Only with `offline`, when known and visible to the recipient.
        #[serde(skip_serializing_if = "Option::is_none")]
        last_seen: Option<i64>,
    },
    Message {
        message: &'a Message,
        sender: &'a Person,
    },
    Ack {
        cid: &'a str,
        id: i64,
        conv: i64,
        time: i64,
        to: i64,
        dup: bool,
    },
    History {
        /// The other user; `null` for a group.
        with: Option<&'a Person>,
        /// A group's conversation id (absent for an individual conversation).
        #[serde(skip_serializing_if = "Option::is_none")]
        conv: Option<i64>,
        messages: &'a [Message],
        more: bool,
        read: ReadMarkers,
        can_send: CanSend,
        /// A group's distinct senders of `messages`, ascending id (absent for an individual
        /// conversation).
        #[serde(skip_serializing_if = "Option::is_none")]
        people: Option<&'a [Person]>,
        /// A group's member ids, ascending (absent for an individual conversation).
        #[serde(skip_serializing_if = "Option::is_none")]
        members: Option<&'a [i64]>,
        /// The window menu's state, on a first page only (§4.1).
        #[serde(skip_serializing_if = "Option::is_none")]
        flags: Option<Flags>,
        /// A group's picture (absent for an individual conversation).
        #[serde(skip_serializing_if = "Option::is_none")]
        image: Option<&'a str>,
    },
    /// `with` in an individual conversation, `conv` in a group.
    Read {
        reader: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        with: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        conv: Option<i64>,
        upto: i64,
    },
    Typing {
        from: i64,
        /// A group's conversation id (absent for an individual conversation).
        #[serde(skip_serializing_if = "Option::is_none")]
        conv: Option<i64>,
    },
    Window {
        with: &'a Person,
        state: WindowState,
    },
    People {
        query: &'a str,
        items: Vec<FoundPerson<'a>>,
    },
    Conversations {
        items: &'a [ConversationInfo],
        offset: u32,
        total: usize,
        more: bool,
    },
    /// You blocked or unblocked `user` (§4.1).
    Block {
        user: i64,
        blocked: bool,
    },
    /// What you may send to `with` changed: ask `history` again.
    CanSend {
        with: i64,
    },
    Mute {
        conv: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        with: Option<i64>,
        muted: bool,
    },
    Star {
        conv: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        with: Option<i64>,
        starred: bool,
    },
    Deleted {
        conv: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        with: Option<i64>,
        ids: &'a [i64],
        upto: i64,
    },
    Roster {
        courses: &'a [RosterCourse],
    },
    CourseMembers {
        course: i64,
        items: Vec<CourseMember<'a>>,
        offset: u32,
        total: usize,
        more: bool,
    },
    Members {
        conv: i64,
        members: &'a [i64],
    },
    TokenOk {
        exp: i64,
    },
    Pong {
        n: &'a Value,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
        #[serde(rename = "ref")]
        reference: &'a str,
    },
}

/// Bytes a frame's text starts with room for.
const FRAME_START: usize = 512;

impl ServerFrame<'_> {
    /// Serialises the frame to its JSON text. Serialising these types cannot fail (string keys only),
    /// but a failure is still answered with a valid `internal` error rather than a panic.
    pub fn to_json(&self) -> String {
        // Room for an ack or a message frame at once: serde_json's own 128 bytes grew twice for
        // every message frame.
        let mut out = Vec::with_capacity(FRAME_START);
        match serde_json::to_writer(&mut out, self) {
            Ok(()) => String::from_utf8(out).ok(),
            Err(_) => None,
        }
        .unwrap_or_else(|| {
            r#"{"type":"error","code":"internal","message":"serialisation failed","ref":""}"#
                .to_string()
        })
    }
}

/// Builds an `error` frame's JSON.
pub fn error_json(code: ErrorCode, reference: &str) -> String {
    ServerFrame::Error {
        code,
        message: code.default_message(),
        reference,
    }
    .to_json()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_direct_decode_reads_frames_as_the_value_decode_does() {
        let texts = [
            r#"{"type":"send","to":5,"cid":"c1","text":"hi"}"#,
            r#"  {"text":"h\u00e9\"","cid":"c2","conv":9,"type":"send","extra":[1,{"a":2}]}"#,
            r#"{"type":"send","to":5,"to":6,"cid":"c1","text":"hi"}"#,
            r#"{"type":"send","type":"send","to":5,"cid":"c1","text":"hi"}"#,
            r#"{"type":2,"to":5,"cid":"c1","text":"hi"}"#,
            r#"["send",5,null,"c1","hi"]"#,
            r#"{"type":"send","to":5,"conv":3,"cid":"c1","text":"hi"}"#,
            r#"{"type":"send","to":-1,"cid":"c1","text":"hi"}"#,
            r#"{"type":"send","to":5.0,"cid":"c1","text":"hi"}"#,
            r#"{"type":"ping","n":{"x":[1,2.5,"y"]}}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"roster"}"#,
            r#"{"type":"history","with":4,"limit":0}"#,
            r#"{"type":"typing","to":4} x"#,
            r#"{"type":"nope"}"#,
            r#"{"type":"hello","v":1,"token":"t","since":3,"state":"away"}"#,
        ];
        for t in texts {
            if let Some(direct) = super::decode_valid(t) {
                assert_eq!(super::decode_value(t), Ok(direct), "{t}");
            }
            let both = super::decode(t);
            let value = super::decode_value(t);
            assert_eq!(format!("{both:?}"), format!("{value:?}"), "{t}");
        }
        assert!(super::decode_valid(texts[0]).is_some());
        assert!(super::decode_valid(texts[1]).is_some());
        assert!(super::decode_valid(texts[4]).is_none());
        assert!(super::decode_valid(texts[5]).is_none());
    }

    use super::*;

    fn code_of(text: &str) -> ErrorCode {
        decode(text).unwrap_err().0.code()
    }

    #[test]
    fn decodes_every_frame() {
        assert_eq!(
            decode(r#"{"type":"hello","v":1,"token":"abc","since":5}"#).unwrap(),
            ClientFrame::Hello {
                v: 1,
                token: "abc".into(),
                since: Some(5),
                state: None
            }
        );
        assert_eq!(
            decode(r#"{"type":"hello","v":1,"token":"abc","state":"hidden"}"#).unwrap(),
            ClientFrame::Hello {
                v: 1,
                token: "abc".into(),
                since: None,
                state: Some(Activity::Hidden)
            }
        );
        assert_eq!(
            decode(r#"{"type":"activity","state":"idle"}"#).unwrap(),
            ClientFrame::Activity {
                state: Activity::Idle
            }
        );
        assert_eq!(
            code_of(r#"{"type":"activity","state":"asleep"}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(code_of(r#"{"type":"activity"}"#), ErrorCode::BadFrame);
        assert_eq!(
            decode(r#"{"type":"hello","v":1,"token":"abc"}"#).unwrap(),
            ClientFrame::Hello {
                v: 1,
                token: "abc".into(),
                since: None,
                state: None
            }
        );
        assert_eq!(
            decode(r#"{"type":"token","token":"t"}"#).unwrap(),
            ClientFrame::Token { token: "t".into() }
        );
        assert_eq!(
            decode(r#"{"type":"send","to":7,"cid":"c-1","text":"hi","extra":true}"#).unwrap(),
            ClientFrame::Send {
                to: Some(7),
                conv: None,
                cid: "c-1".into(),
                text: "hi".into()
            }
        );
        assert_eq!(
            decode(r#"{"type":"send","conv":311,"cid":"c-1","text":"hi"}"#).unwrap(),
            ClientFrame::Send {
                to: None,
                conv: Some(311),
                cid: "c-1".into(),
                text: "hi".into()
            }
        );
        assert_eq!(
            decode(r#"{"type":"history","conv":311}"#).unwrap(),
            ClientFrame::History {
                with: None,
                conv: Some(311),
                before: None,
                limit: None
            }
        );
        assert_eq!(
            decode(r#"{"type":"read","conv":311,"upto":9}"#).unwrap(),
            ClientFrame::Read {
                with: None,
                conv: Some(311),
                upto: 9
            }
        );
        assert_eq!(
            decode(r#"{"type":"typing","conv":311}"#).unwrap(),
            ClientFrame::Typing {
                to: None,
                conv: Some(311)
            }
        );
        assert_eq!(
            decode(r#"{"type":"history","with":7}"#).unwrap(),
            ClientFrame::History {
                with: Some(7),
                conv: None,
                before: None,
                limit: None
            }
        );
        assert_eq!(
            decode(r#"{"type":"history","with":7,"before":100,"limit":20}"#).unwrap(),
            ClientFrame::History {
                with: Some(7),
                conv: None,
                before: Some(100),
                limit: Some(20)
            }
        );
        assert_eq!(
            decode(r#"{"type":"read","with":7,"upto":9}"#).unwrap(),
            ClientFrame::Read {
                with: Some(7),
                conv: None,
                upto: 9
            }
        );
        assert_eq!(
            decode(r#"{"type":"typing","to":7}"#).unwrap(),
            ClientFrame::Typing {
                to: Some(7),
                conv: None
            }
        );
        assert_eq!(
            decode(r#"{"type":"window","with":7,"state":"minimised"}"#).unwrap(),
            ClientFrame::Window {
                with: 7,
                state: WindowState::Minimised
            }
        );
        assert_eq!(
            decode(r#"{"type":"ping","n":{"a":1}}"#).unwrap(),
            ClientFrame::Ping {
                n: Some(serde_json::json!({"a":1}))
            }
        );
        assert_eq!(
            decode(r#"{"type":"ping"}"#).unwrap(),
            ClientFrame::Ping { n: None }
        );
    }

    #[test]
    fn classifies_bad_input() {
        assert_eq!(code_of("not json"), ErrorCode::BadJson);
        assert_eq!(code_of("[1,2]"), ErrorCode::BadJson);
        assert_eq!(code_of("\"hello\""), ErrorCode::BadJson);
        assert_eq!(code_of("{}"), ErrorCode::UnknownType);
        assert_eq!(code_of(r#"{"type":5}"#), ErrorCode::UnknownType);
        assert_eq!(code_of(r#"{"type":"launch"}"#), ErrorCode::UnknownType);
        assert_eq!(code_of(r#"{"type":"send","to":7}"#), ErrorCode::BadFrame);
        assert_eq!(
            code_of(r#"{"type":"send","to":"7","cid":"a","text":"b"}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"send","to":-1,"cid":"a","text":"b"}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"send","to":1.5,"cid":"a","text":"b"}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"history","with":7,"limit":0}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"window","with":7,"state":"maximised"}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"hello","v":1,"token":"t","since":-3}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(code_of(r#"{"type":"typing"}"#), ErrorCode::BadFrame);
        // Conversation-addressed frames name exactly one conversation.
        assert_eq!(
            code_of(r#"{"type":"send","to":7,"conv":3,"cid":"a","text":"b"}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"send","cid":"a","text":"b"}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"history","conv":0}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"read","with":7,"conv":3,"upto":1}"#),
            ErrorCode::BadFrame
        );
        assert_eq!(
            code_of(r#"{"type":"typing","conv":"3"}"#),
            ErrorCode::BadFrame
        );
        let (_, r) = decode(r#"{"type":"read","with":"x","upto":1}"#).unwrap_err();
        assert_eq!(r.as_deref(), Some("read"));
    }

    #[test]
    fn cid_rules() {
        assert!(valid_cid("c-5f2a_x9"));
        assert!(!valid_cid("c-5f2a_X9"), "upper case");
        assert!(!valid_cid(""));
        assert!(!valid_cid("a b"));
        assert!(!valid_cid("é"));
        assert!(valid_cid(&"a".repeat(64)));
        assert!(!valid_cid(&"a".repeat(65)));
    }

    #[test]
    fn text_rules() {
        let ok = |t: &str, n| normalise_text(t, n).map(|c| c.into_owned());
        assert_eq!(ok("hi  \n\t", 10), Ok("hi".to_string()));
        assert_eq!(ok("  hi", 10), Ok("  hi".to_string()));
        assert_eq!(ok(" \n ", 10), Err(TextError::Empty));
        // 4 scalars, 16 bytes: counted as characters, not bytes.
        assert_eq!(ok("😀😀😀😀", 4), Ok("😀😀😀😀".to_string()));
        assert_eq!(ok("😀😀😀😀😀", 4), Err(TextError::TooLong));
        // Control characters are dropped; tab, newline and carriage return stay.
        assert_eq!(ok("a\u{0}b\u{7}c\u{7f}", 10), Ok("abc".to_string()));
        assert_eq!(ok("a\tb\r\nc", 10), Ok("a\tb\r\nc".to_string()));
        assert_eq!(ok("\u{0}\u{1} ", 10), Err(TextError::Empty));
    }

    #[test]
    fn window_action_frames() {
        assert_eq!(
            decode(r#"{"type":"block","user":7,"block":true}"#).unwrap(),
            ClientFrame::Block {
                user: 7,
                block: true
            }
        );
        assert_eq!(
            decode(r#"{"type":"mute","conv":3,"mute":false}"#).unwrap(),
            ClientFrame::Mute {
                with: None,
                conv: Some(3),
                mute: false
            }
        );
        assert_eq!(
            decode(r#"{"type":"delete_conversation","with":7}"#).unwrap(),
            ClientFrame::DeleteConversation {
                with: Some(7),
                conv: None
            }
        );
        for bad in [
            r#"{"type":"block","user":0,"block":true}"#,
            r#"{"type":"block","user":7}"#,
            r#"{"type":"mute","with":7}"#,
            r#"{"type":"mute","with":7,"conv":3,"mute":true}"#,
            r#"{"type":"star"}"#,
            r#"{"type":"delete","id":-1}"#,
            r#"{"type":"delete_conversation","conv":0}"#,
        ] {
            assert_eq!(code_of(bad), ErrorCode::BadFrame, "{bad}");
        }
        let j: Value = serde_json::from_str(
            &ServerFrame::Deleted {
                conv: 3,
                with: None,
                ids: &[],
                upto: 9,
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(
            j,
            serde_json::json!({"type": "deleted", "conv": 3, "ids": [], "upto": 9})
        );
        let j: Value = serde_json::from_str(&ServerFrame::CanSend { with: 7 }.to_json()).unwrap();
        assert_eq!(j, serde_json::json!({"type": "can_send", "with": 7}));
    }

    #[test]
    fn encodes_server_frames() {
        let p = Person {
            id: 7,
            fullname: "Ana Lima".into(),
            avatar: "x".into(),
        };
        let m = Message {
            id: 3,
            conv: 2,
            from: 7,
            to: 9,
            text: "<b>hi</b>".into(),
            time: 10,
            cid: "c1".into(),
        };
        let j: Value = serde_json::from_str(
            &ServerFrame::Message {
                message: &m,
                sender: &p,
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(j["type"], "message");
        assert_eq!(j["message"]["text"], "<b>hi</b>");
        assert_eq!(j["message"]["conv"], 2);
        assert_eq!(j["sender"]["fullname"], "Ana Lima");
        let e: Value = serde_json::from_str(&error_json(ErrorCode::BadCid, "c1")).unwrap();
        assert_eq!(e["code"], "bad_cid");
        assert_eq!(e["ref"], "c1");
        let o = OnlinePerson {
            person: &p,
            status: Status::Away,
        };
        let j: Value = serde_json::to_value(&o).unwrap();
        assert_eq!(j["status"], "away");
        assert_eq!(j["id"], 7);
        let off: Value = serde_json::from_str(
            &ServerFrame::Presence {
                user: &p,
                status: Status::Offline,
                last_seen: Some(99),
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(off["status"], "offline");
        assert_eq!(off["last_seen"], 99);
        let t: Value = serde_json::from_str(&ServerFrame::TokenOk { exp: 5 }.to_json()).unwrap();
        assert_eq!(t["type"], "token_ok");
        let ms: Value = serde_json::from_str(
            &ServerFrame::Missed {
                messages: &[],
                cursor: 4,
                done: true,
                truncated: Some(false),
            }
            .to_json(),
        )
        .unwrap();
        assert_eq!(ms["truncated"], false);
    }
}
