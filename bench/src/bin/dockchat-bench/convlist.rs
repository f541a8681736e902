//! `convlist`: the Chats tab's list (docs/PROTOCOL.md §5 `conversations`) for a user with many
//! conversations (2,000 by default), paged as the dock pages it (20 per page, `offset` = the items
//! already shown).
//!
//! Seeding (in Moodle's tables, exactly as Moodle's messaging API leaves them): user 0 has their
//! self conversation (starred, as Moodle stars it when it creates it), a few course-group
//! conversations (`core_group`/`groups`, their `groups` rows, one more that is disabled and never
//! listed) and one individual conversation (`convhash` = sha1("low-high")) with each other user;
//! every conversation holds 1 to 40 messages (most a handful), sent over the last six months, read
//! (`message_user_actions` action 1) by their recipients except the last few in some, a few last
//! messages deleted by user 0 (action 2), a few conversations starred (`favourite`,
//! `core_message`/`message_conversations`, in the user's or the group's course context, as
//! `api::set_favourite_conversation` stores them) or muted (`message_conversation_actions` action
//! 1). The other users also talk among themselves, so the tables hold more than user 0's rows. Ids
//! follow time, as Moodle's autoincrement does. Everything is a function of [`Spec`]: the scenario
//! computes the expected list from the same model and checks every page it gets against it.
//!
//! Measurement: user 0 connects (a few of their correspondents are online, so some entries carry
//! presence), asks once for the first page (`first_request_ms`: the daemon's first list since it
//! started), then, round after round, for the first page (`offset` 0), the second (20) and one
//! deeper page (a random later offset). Every [`DRAWER_EVERY`]th round begins with a message from one
//! of user 0's correspondents stored as Moodle's drawer stores it (an INSERT into `messages`); the
//! round's pages are asked once user 0's socket has it live (the daemon's poll found it), and must
//! show it (the conversation moved up, its unread count one more). The daemon keeps user 0's list
//! between pages (it reads it on the first page: `first_request_ms` is that cold read) and checks
//! the user's memberships, stars and mutes on each. Latency is the round trip on the loopback, from
//! the request's send to the answer's read.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::client;
use crate::harness::Harness;
use crate::procs::CpuMark;
use crate::report::{self, round};
use crate::setup::{
    course_context, sha1_hex, Conn, DbKind, Inserter, Layout, Rng, FIRST_USER, SITE_URL,
};

/// The conversations page size of the dock (`PAGE_SIZE` in amd/src/panel.js).
pub const PAGE: usize = 20;
/// "Now" of the generated history (2025-11-24): every time is before it.
const BASE_T: i64 = 1_764_000_000;
const DAY: i64 = 86_400;

/// The shape of user 0's conversations.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Conversations listed for user 0: the self conversation, `groups` group conversations and
    /// one individual conversation with each other user for the rest.
    pub conversations: usize,
    /// Course-group conversations user 0 is a member of.
    pub groups: usize,
    /// Conversations each other user also has with other users (not user 0).
    pub background_per_user: usize,
    /// Conversations user 0 starred (the self conversation and one group among them).
    pub favourites: usize,
    /// Conversations user 0 muted (one group among them).
    pub muted: usize,
}

impl Spec {
    /// Users other than user 0 (one individual conversation each).
    pub fn peers(&self) -> usize {
        self.conversations.saturating_sub(self.groups + 1).max(1)
    }

    /// Generated users, user 0 included.
    pub fn users(&self) -> usize {
        1 + self.peers()
    }
}

/// Conversation types (`message_conversations.type`).
const INDIVIDUAL: u8 = 1;
const GROUP: u8 = 2;
const SELF: u8 = 3;

/// One generated conversation.
#[derive(Clone, Debug)]
struct Conv {
    id: u64,
    kind: u8,
    /// Members (generated user indexes), ascending.
    members: Vec<usize>,
    enabled: bool,
    /// The course group's id (group conversations).
    group: u64,
    created: i64,
}

/// One generated message.
#[derive(Clone, Debug)]
struct Msg {
    id: u64,
    /// Index into [`Model::convs`].
    conv: usize,
    from: usize,
    t: i64,
    text: &'static str,
}

/// Everything seeded, as plain data.
pub struct Model {
    convs: Vec<Conv>,
    msgs: Vec<Msg>,
    /// (user index, message id, action, time): 1 read, 2 deleted.
    actions: Vec<(usize, u64, u8, i64)>,
    /// Conversation indexes user 0 starred.
    favourites: Vec<usize>,
    /// Conversation indexes user 0 muted.
    muted: Vec<usize>,
}

/// What user 0's list should say about one conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub conv: u64,
    pub favourite: bool,
    pub muted: bool,
    /// The newest message not deleted for user 0: (id, time).
    pub last: Option<(u64, i64)>,
    pub unread: u64,
}

const TEXTS: [&str; 12] = [
    "Hi! Are you coming to the lab on Thursday?",
    "I uploaded my part of the report, can you check it?",
    "Thanks, that helps a lot.",
    "Which exercises are due next week?",
    "See you in class tomorrow.",
    "Could you send me the slides from the last lecture?",
    "I think question 3 has a typo in the statement.",
    "Sure, let us meet at the library at 4.",
    "The quiz closes tonight at midnight, do not forget.",
    "Good luck with the exam!",
    "Did you get the feedback on the essay?",
    "OK, I will write to the teacher about it.",
];

impl Model {
    /// The deterministic history of `spec`.
    pub fn new(spec: &Spec) -> Model {
        let mut rng = Rng::new(0x0000_c0ff_ee11);
        let peers = spec.peers();
        let mut convs: Vec<Conv> = Vec::new();
        convs.push(Conv {
            id: 1,
            kind: SELF,
            members: vec![0],
            enabled: true,
            group: 0,
            created: BASE_T - 400 * DAY,
        });
        for k in 1..=peers {
            convs.push(Conv {
                id: 0,
                kind: INDIVIDUAL,
                members: vec![0, k],
                enabled: true,
                group: 0,
                created: 0,
            });
        }
        let group_of = |rng: &mut Rng, n: usize| -> Vec<usize> {
            let mut set: HashSet<usize> = HashSet::new();
            while set.len() < n.min(peers) {
                set.insert(1 + rng.below(peers as u64) as usize);
            }
            let mut v: Vec<usize> = std::iter::once(0).chain(set).collect();
            v.sort_unstable();
            v
        };
        // The groups, then one with messaging disabled (never listed).
        for g in 0..=spec.groups {
            let n = rng.range(8, 30) as usize;
            convs.push(Conv {
                id: 0,
                kind: GROUP,
                members: group_of(&mut rng, n),
                enabled: g < spec.groups,
                group: 1 + g as u64,
                created: BASE_T - 200 * DAY,
            });
        }
        // The others among themselves.
        let mut pairs: HashSet<(usize, usize)> = HashSet::new();
        if peers >= 2 {
            for k in 1..=peers {
                for _ in 0..spec.background_per_user {
                    let j = 1 + rng.below(peers as u64) as usize;
                    let pair = (k.min(j), k.max(j));
                    if j != k && pairs.insert(pair) {
                        convs.push(Conv {
                            id: 0,
                            kind: INDIVIDUAL,
                            members: vec![pair.0, pair.1],
                            enabled: true,
                            group: 0,
                            created: 0,
                        });
                    }
                }
            }
        }
        for (i, c) in convs.iter_mut().enumerate() {
            c.id = 1 + i as u64;
        }

        // Messages, newest first within each conversation, then ids by time.
        let mut msgs: Vec<Msg> = Vec::new();
        for (ci, c) in convs.iter_mut().enumerate() {
            let n = match c.kind {
                SELF => 2,
                GROUP => rng.range(5, 40),
                _ if c.members[0] == 0 => match rng.below(100) {
                    0..=49 => rng.range(1, 3),
                    50..=84 => rng.range(4, 10),
                    _ => rng.range(11, 40),
                },
                _ => rng.range(1, 8),
            };
            let mut t = BASE_T - rng.below(180 * DAY as u64) as i64;
            let mut from = c.members[rng.below(c.members.len() as u64) as usize];
            let mut list = Vec::with_capacity(n as usize);
            for _ in 0..n {
                list.push(Msg {
                    id: 0,
                    conv: ci,
                    from,
                    t,
                    text: TEXTS[rng.below(TEXTS.len() as u64) as usize],
                });
                t -= rng.range(20, 6 * 3600) as i64;
                if rng.pct(70) {
                    from = c.members[rng.below(c.members.len() as u64) as usize];
                }
            }
            c.created = t;
            list.reverse();
            msgs.extend(list);
        }
        msgs.sort_by_key(|m| (m.t, m.conv));
        for (i, m) in msgs.iter_mut().enumerate() {
            m.id = 1 + i as u64;
        }

        // Reads: every recipient read every message from the others, except the last few in some
        // conversations; user 0 deleted the last message of a few.
        let mut by_conv: Vec<Vec<usize>> = vec![Vec::new(); convs.len()];
        for (i, m) in msgs.iter().enumerate() {
            by_conv[m.conv].push(i);
        }
        let mut actions = Vec::new();
        for (ci, c) in convs.iter().enumerate() {
            let list = &by_conv[ci];
            for &member in &c.members {
                let unread_tail = if rng.pct(15) {
                    rng.range(1, 5) as usize
                } else {
                    0
                };
                let theirs: Vec<usize> = list
                    .iter()
                    .copied()
                    .filter(|&i| msgs[i].from != member)
                    .collect();
                let keep = theirs.len().saturating_sub(unread_tail);
                for &i in &theirs[..keep] {
                    actions.push((member, msgs[i].id, 1, msgs[i].t + 60));
                }
            }
            if c.kind == INDIVIDUAL && c.members[0] == 0 && rng.pct(1) {
                if let Some(&i) = list.last() {
                    actions.push((0, msgs[i].id, 2, msgs[i].t + 120));
                }
            }
        }

        // Stars and mutes of user 0.
        let own: Vec<usize> = (1..=peers).collect();
        let first_group = 1 + peers;
        let mut favourites = vec![0];
        if spec.groups > 0 {
            favourites.push(first_group);
        }
        let mut muted = Vec::new();
        if spec.groups > 1 {
            muted.push(first_group + 1);
        }
        let mut picked: HashSet<usize> = HashSet::new();
        while favourites.len() < spec.favourites.min(peers + 2) {
            let c = own[rng.below(own.len() as u64) as usize];
            if picked.insert(c) {
                favourites.push(c);
            }
        }
        while muted.len() < spec.muted.min(peers) {
            let c = own[rng.below(own.len() as u64) as usize];
            if picked.insert(c) {
                muted.push(c);
            }
        }
        Model {
            convs,
            msgs,
            actions,
            favourites,
            muted,
        }
    }

    /// User 0's list as the daemon must give it: starred first, then by newest message (time, then
    /// id), conversations without messages last, then by conversation id, newest first.
    pub fn expected(&self) -> Vec<Expected> {
        let mut hidden: HashSet<u64> = HashSet::new();
        let mut read: HashSet<u64> = HashSet::new();
        for &(u, id, action, _) in &self.actions {
            if u == 0 {
                read.insert(id);
                if action == 2 {
                    hidden.insert(id);
                }
            }
        }
        let mut last: HashMap<usize, (i64, u64)> = HashMap::new();
        let mut unread: HashMap<usize, u64> = HashMap::new();
        for m in &self.msgs {
            if !hidden.contains(&m.id) {
                let e = last.entry(m.conv).or_insert((m.t, m.id));
                if (m.t, m.id) > *e {
                    *e = (m.t, m.id);
                }
            }
            if m.from != 0 && !read.contains(&m.id) {
                *unread.entry(m.conv).or_insert(0) += 1;
            }
        }
        let fav: HashSet<usize> = self.favourites.iter().copied().collect();
        let muted: HashSet<usize> = self.muted.iter().copied().collect();
        let mut out: Vec<Expected> = self
            .convs
            .iter()
            .enumerate()
            .filter(|(_, c)| c.enabled && c.members.contains(&0))
            .map(|(i, c)| Expected {
                conv: c.id,
                favourite: fav.contains(&i),
                muted: muted.contains(&i),
                last: last.get(&i).map(|&(t, id)| (id, t)),
                unread: unread.get(&i).copied().unwrap_or(0),
            })
            .collect();
        sort_expected(&mut out);
        out
    }

    /// Messages in all.
    pub fn messages(&self) -> usize {
        self.msgs.len()
    }
}

/// The drawer's order: starred first, then by newest message (time, then id), conversations
/// without messages last, then by conversation id, newest first.
fn sort_expected(list: &mut [Expected]) {
    list.sort_by(|a, b| {
        b.favourite
            .cmp(&a.favourite)
            .then_with(|| b.last.is_some().cmp(&a.last.is_some()))
            .then_with(|| {
                let key = |e: &Expected| e.last.map(|(id, t)| (t, id));
                key(b).cmp(&key(a))
            })
            .then_with(|| b.conv.cmp(&a.conv))
    });
}

fn uid(k: usize) -> u64 {
    FIRST_USER + k as u64
}

/// A string literal for `kind` (MariaDB reads backslashes as escapes).
fn lit(kind: DbKind, s: &str) -> String {
    let s = s.replace('\'', "''");
    match kind {
        DbKind::Mariadb => format!("'{}'", s.replace('\\', "\\\\")),
        DbKind::Postgres => format!("'{s}'"),
    }
}

/// Inserts the model's rows (multi-row INSERTs; within the setup's transaction).
pub async fn seed(db: &mut Conn, spec: &Spec, lay: &Layout) -> Result<()> {
    let kind = db.kind();
    let model = Model::new(spec);
    // The groups live in user 0's first course.
    let course = lay
        .enrolments
        .first()
        .and_then(|e| e.first())
        .copied()
        .context("convlist needs user 0 in a course")?;
    let course_ctx = course_context(course);
    let group_name = |g: u64| format!("Study group {g}");
    let icon = |k: usize| format!("{SITE_URL}/theme/image.php/boost/core/1/u/f1?u={}", uid(k));
    let group_icon = format!("{SITE_URL}/theme/image.php/boost/core/1/g/g1");

    let mut ins = Inserter::new(
        db,
        "groups",
        "id, courseid, idnumber, name, descriptionformat, picture, timecreated, timemodified",
    );
    for c in model.convs.iter().filter(|c| c.kind == GROUP) {
        ins.row(format!(
            "{}, {course}, '', '{}', 1, 0, {}, {}",
            c.group,
            group_name(c.group),
            c.created,
            c.created
        ))
        .await?;
    }
    ins.flush().await?;

    let mut ins = Inserter::new(
        db,
        "message_conversations",
        "id, type, name, convhash, component, itemtype, itemid, contextid, enabled, timecreated, \
         timemodified",
    );
    for c in &model.convs {
        let row = match c.kind {
            GROUP => format!(
                "{}, 2, '{}', NULL, 'core_group', 'groups', {}, {course_ctx}, {}, {}, {}",
                c.id,
                group_name(c.group),
                c.group,
                u8::from(c.enabled),
                c.created,
                c.created
            ),
            SELF => format!(
                "{}, 3, NULL, '{}', NULL, NULL, NULL, NULL, 1, {}, {}",
                c.id,
                sha1_hex(&uid(c.members[0]).to_string()),
                c.created,
                c.created
            ),
            _ => format!(
                "{}, 1, NULL, '{}', NULL, NULL, NULL, NULL, 1, {}, {}",
                c.id,
                sha1_hex(&format!("{}-{}", uid(c.members[0]), uid(c.members[1]))),
                c.created,
                c.created
            ),
        };
        ins.row(row).await?;
    }
    ins.flush().await?;

    let mut ins = Inserter::new(
        db,
        "message_conversation_members",
        "conversationid, userid, timecreated",
    );
    for c in &model.convs {
        for &k in &c.members {
            ins.row(format!("{}, {}, {}", c.id, uid(k), c.created))
                .await?;
        }
    }
    ins.flush().await?;

    let mut ins = Inserter::new(
        db,
        "messages",
        "id, useridfrom, conversationid, subject, fullmessage, fullmessageformat, fullmessagehtml, \
         smallmessage, timecreated, fullmessagetrust, customdata",
    );
    for m in &model.msgs {
        let c = &model.convs[m.conv];
        let custom = if c.kind == GROUP {
            dockchat::store::messaging::group_customdata(
                &icon(m.from),
                &group_icon,
                &group_name(c.group),
            )
        } else {
            dockchat::store::messaging::message_customdata(&icon(m.from))
        };
        ins.row(format!(
            "{}, {}, {}, NULL, {text}, 0, '', {text}, {}, 0, {}",
            m.id,
            uid(m.from),
            c.id,
            m.t,
            lit(kind, &custom),
            text = lit(kind, m.text),
        ))
        .await?;
    }
    ins.flush().await?;

    let mut ins = Inserter::new(
        db,
        "message_user_actions",
        "userid, messageid, action, timecreated",
    );
    for &(k, id, action, t) in &model.actions {
        ins.row(format!("{}, {id}, {action}, {t}", uid(k))).await?;
    }
    ins.flush().await?;

    let user_ctx = lay.user_context(0);
    let mut ins = Inserter::new(
        db,
        "favourite",
        "component, itemtype, itemid, contextid, userid, ordering, timecreated, timemodified",
    );
    for &ci in &model.favourites {
        let c = &model.convs[ci];
        let ctx = if c.kind == GROUP {
            course_ctx
        } else {
            user_ctx
        };
        ins.row(format!(
            "'core_message', 'message_conversations', {}, {ctx}, {}, NULL, {}, {}",
            c.id,
            uid(0),
            c.created,
            c.created
        ))
        .await?;
    }
    ins.flush().await?;

    let mut ins = Inserter::new(
        db,
        "message_conversation_actions",
        "userid, conversationid, action, timecreated",
    );
    for &ci in &model.muted {
        let c = &model.convs[ci];
        ins.row(format!("{}, {}, 1, {}", uid(0), c.id, c.created))
            .await?;
    }
    ins.flush().await
}

/// Parameters of a convlist run.
#[derive(Clone, Debug)]
pub struct Params {
    pub spec: Spec,
    /// Rounds (each: the first page, the second, one deeper page).
    pub rounds: usize,
    /// Correspondents online during the run.
    pub online: usize,
    /// Source addresses to spread the sockets over.
    pub src_ips: usize,
}

/// Every this many rounds, a correspondent writes to user 0 from Moodle's drawer.
pub const DRAWER_EVERY: usize = 4;

/// Stores a message from `from` in `conv` (at `t`) as Moodle's send path does, then waits until the
/// viewer's socket has it (the daemon delivers what Moodle stores within its poll).
async fn drawer_message(
    db: &mut Conn,
    viewer: &mut client::Ws,
    id: u64,
    from: usize,
    conv: u64,
    t: i64,
) -> Result<()> {
    let kind = db.kind();
    let icon = format!(
        "{SITE_URL}/theme/image.php/boost/core/1/u/f1?u={}",
        uid(from)
    );
    let custom = dockchat::store::messaging::message_customdata(&icon);
    let text = lit(kind, "sent from the drawer");
    db.exec(&format!(
        "INSERT INTO mdl_messages (id, useridfrom, conversationid, subject, fullmessage, \
         fullmessageformat, fullmessagehtml, smallmessage, timecreated, fullmessagetrust, customdata) \
         VALUES ({id}, {}, {conv}, NULL, {text}, 0, '', {text}, {t}, 0, {})",
        uid(from),
        lit(kind, &custom)
    ))
    .await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, viewer.next())
            .await
            .map_err(|_| {
                anyhow::anyhow!("the drawer's message {id} was not delivered within 10 s")
            })?;
        match next {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(f))) => {
                if client::frame_type(&f) == Some("message")
                    && client::u64_field(&f, "id") == Some(id)
                {
                    return Ok(());
                }
            }
            Some(Ok(_)) => {}
            other => anyhow::bail!("the viewer's socket ended: {other:?}"),
        }
    }
}

/// Checks one `conversations` answer against the expected list; returns what differs.
fn check_page(text: &str, offset: usize, want: &[Expected]) -> Result<Option<String>> {
    let v: Value = serde_json::from_str(text).context("conversations answer is not JSON")?;
    let total = v["total"].as_u64().unwrap_or(u64::MAX);
    if total != want.len() as u64 {
        return Ok(Some(format!("total {total}, expected {}", want.len())));
    }
    let items = v["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let expect = &want[offset.min(want.len())..(offset + PAGE).min(want.len())];
    if items.len() != expect.len() {
        return Ok(Some(format!(
            "offset {offset}: {} items, expected {}",
            items.len(),
            expect.len()
        )));
    }
    let more = v["more"].as_bool().unwrap_or(false);
    if more != (offset + items.len() < want.len()) {
        return Ok(Some(format!("offset {offset}: more {more}")));
    }
    for (i, (got, e)) in items.iter().zip(expect).enumerate() {
        let last = got["last"]["id"].as_u64();
        let seen = (
            got["conv"].as_u64(),
            got["favourite"].as_bool(),
            got["muted"].as_bool(),
            last,
            got["unread"].as_u64(),
        );
        let wanted = (
            Some(e.conv),
            Some(e.favourite),
            Some(e.muted),
            e.last.map(|l| l.0),
            Some(e.unread),
        );
        if seen != wanted {
            return Ok(Some(format!(
                "offset {offset} item {i}: (conv, favourite, muted, last, unread) {seen:?}, expected {wanted:?}"
            )));
        }
    }
    Ok(None)
}

/// Runs the scenario.
pub async fn run(h: &Harness, p: &Params) -> Result<Vec<(String, Value)>> {
    let model = Model::new(&p.spec);
    let mut want = model.expected();
    let mut db = Conn::open(
        h.db_kind().context("convlist needs a database")?,
        &h.db_url()?,
    )
    .await?;
    // The correspondents of user 0's individual conversations, by conversation id.
    let partners: Vec<(u64, usize)> = model
        .convs
        .iter()
        .filter(|c| c.kind == INDIVIDUAL && c.enabled && c.members.contains(&0))
        .filter_map(|c| Some((c.id, *c.members.iter().find(|&&k| k != 0)?)))
        .collect();
    let mut next_id = model.msgs.iter().map(|m| m.id).max().unwrap_or(0) + 1;
    let mut drawer_messages = 0u64;
    let peers = p.spec.peers();
    // Every `step`-th correspondent online (their frames are read and dropped).
    let step = (peers / p.online.max(1)).max(1);
    let online: Vec<usize> = (1..=peers).step_by(step).take(p.online).collect();
    let opened = h.open_many(&online, 64, p.src_ips).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for r in opened {
        let mut ws = r.context("an online correspondent could not connect")?;
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    biased;
                    _ = stop.changed() => break,
                    m = ws.next() => if !matches!(m, Some(Ok(_))) { break },
                }
            }
            let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
        }));
    }
    let mut viewer =
        client::open(h.addr_for(0), None, h.hello(0)?, Duration::from_secs(30)).await?;
    let frame =
        |offset: usize| format!(r#"{{"type":"conversations","offset":{offset},"limit":{PAGE}}}"#);

    let mut errors = 0u64;
    let mut mismatches = 0u64;
    let mut first_error: Option<String> = None;
    let mut first_mismatch: Option<String> = None;
    let mut judge =
        |offset: usize, answer: &(u64, bool, String), want: &[Expected]| -> Result<()> {
            if answer.1 {
                errors += 1;
                first_error.get_or_insert_with(|| answer.2.clone());
            } else if let Some(diff) = check_page(&answer.2, offset, want)? {
                mismatches += 1;
                if first_mismatch.is_none() {
                    eprintln!("convlist: page differs from the seeded model: {diff}");
                    first_mismatch = Some(diff);
                }
            }
            Ok(())
        };

    let first = client::ask(&mut viewer, &frame(0), "conversations").await?;
    judge(0, &first, &want)?;
    let first_request_us = first.0;

    let pages = want.len().div_ceil(PAGE);
    let mut rng = Rng::new(0x005e_edc0);
    let mut h_first = report::histogram();
    let mut h_second = report::histogram();
    let mut h_deep = report::histogram();
    let cpu0 = CpuMark::now(&h.pids(), h.db_kind());
    let started = Instant::now();
    let mut asked = 0u64;
    for round in 0..p.rounds {
        if round % DRAWER_EVERY == DRAWER_EVERY - 1 && !partners.is_empty() {
            let (conv, from) = partners[rng.below(partners.len() as u64) as usize];
            let t = crate::setup::unix_now() as i64;
            drawer_message(&mut db, &mut viewer, next_id, from, conv, t).await?;
            if let Some(e) = want.iter_mut().find(|e| e.conv == conv) {
                e.last = Some((next_id, t));
                e.unread += 1;
            }
            sort_expected(&mut want);
            next_id += 1;
            drawer_messages += 1;
        }
        let deep = PAGE * (2 + rng.below(pages.saturating_sub(2) as u64) as usize);
        for (offset, hist) in [
            (0, &mut h_first),
            (PAGE, &mut h_second),
            (deep, &mut h_deep),
        ] {
            let a = client::ask(&mut viewer, &frame(offset), "conversations").await?;
            hist.saturating_record(a.0);
            judge(offset, &a, &want)?;
            asked += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu1 = CpuMark::now(&h.pids(), h.db_kind());
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let _ = viewer.close(None).await;
    db.close().await;
    let (srv_cpu, gen_cpu, db_cpu) = cpu0.since(&cpu1);
    let per_page_ms = |pct: f64| round(pct / 100.0 * secs * 1000.0 / asked.max(1) as f64, 3);
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("conversations".into(), (want.len() as u64).into()),
        (
            "favourites".into(),
            (want.iter().filter(|e| e.favourite).count() as u64).into(),
        ),
        (
            "with_unread".into(),
            (want.iter().filter(|e| e.unread > 0).count() as u64).into(),
        ),
        ("messages_seeded".into(), (model.messages() as u64).into()),
        ("online_correspondents".into(), (online.len() as u64).into()),
        ("rounds".into(), (p.rounds as u64).into()),
        ("drawer_messages".into(), drawer_messages.into()),
        (
            "first_request_ms".into(),
            report::ms(first_request_us).into(),
        ),
    ];
    out.extend(report::latency_fields("page_first_", &h_first));
    out.extend(report::latency_fields("page_second_", &h_second));
    out.extend(report::latency_fields("page_deep_", &h_deep));
    out.push(("server_cpu_pct".into(), round(srv_cpu, 1).into()));
    out.push(("server_cpu_ms_per_page".into(), per_page_ms(srv_cpu).into()));
    out.push(("db_cpu_pct".into(), round(db_cpu, 1).into()));
    out.push(("db_cpu_ms_per_page".into(), per_page_ms(db_cpu).into()));
    out.push(("loadgen_cpu_pct".into(), round(gen_cpu, 1).into()));
    out.push(("page_errors".into(), errors.into()));
    out.push(("page_mismatches".into(), mismatches.into()));
    if let Some(e) = first_error {
        out.push(("first_error".into(), e.into()));
    }
    if let Some(d) = first_mismatch {
        out.push(("first_mismatch".into(), d.into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            conversations: 120,
            groups: 4,
            background_per_user: 2,
            favourites: 6,
            muted: 5,
        }
    }

    #[test]
    fn model_lists_every_conversation_of_user_0() {
        let m = Model::new(&spec());
        let want = m.expected();
        assert_eq!(want.len(), 120);
        // Starred first: the self conversation (no messages deleted) and a group among them.
        assert!(want[..6].iter().all(|e| e.favourite));
        assert!(want[6..].iter().all(|e| !e.favourite));
        assert!(want.iter().any(|e| e.unread > 0));
        // Newest first after the stars (a conversation whose only message was deleted: last).
        for w in want[6..].windows(2) {
            match (w[0].last, w[1].last) {
                (Some(a), Some(b)) => assert!((a.1, a.0) > (b.1, b.0)),
                (_, None) => {}
                (None, Some(_)) => panic!("a conversation without messages before one with"),
            }
        }
    }

    #[test]
    fn model_is_deterministic_and_ids_follow_time() {
        let a = Model::new(&spec());
        let b = Model::new(&spec());
        assert_eq!(a.expected(), b.expected());
        for w in a.msgs.windows(2) {
            assert!(w[0].t <= w[1].t && w[0].id < w[1].id);
        }
    }
}
