//! `search`: the People tab's search (docs/PROTOCOL.md §5 `people`) on a large site: 50,000
//! users and 2,000 courses by default.
//!
//! Seeding: courses of 25 to 500 (most 25–60, a quarter 60–200, one in twenty 200–500), filled by
//! passes over shuffled users so that everyone is in three or four courses; each viewer (users
//! 0..V) is in at least `viewer_courses` courses, one of them among the largest. Names come from
//! pools of first and last names (so "ma" matches thousands, a full surname a few dozen). Privacy as
//! on a real site, in Moodle's tables: 2 % of users accept messages from contacts only
//! (`user_preferences` `message_blocknoncontacts` = 1), 1 % chose "anyone on the site" (2, which
//! means course members while `messagingallusers` is off, as here); each viewer is blocked by three
//! course-mates (`message_users_blocked`), has four contacts sharing no course with them
//! (`message_contacts`, one of them contacts-only) and one course-mate contact who is contacts-only.
//!
//! Measurement: the viewers search one after the other (one request in flight), each at most once
//! per 260 ms, under the daemon's limit of 20 searches per 5 s per user, so no answer should be
//! `rate_limited` (counted anyway). Queries are what the dock sends after its debounce: a name's
//! prefix (2–6 letters), a substring, or a first name and the start of a last name. Every answer is
//! checked against the seeded model: a listed person the viewer may not message under Moodle's
//! rules (a stranger sharing no course, someone who blocked them, a contacts-only user who is not
//! their contact) is a violation, printed and counted; an answer that is not exactly the first 20
//! people the viewer may message whose names hold every word (by last name, first name, id) is a
//! mismatch. The daemon caches each viewer/candidate pair's messaging facts for up to 60 s, so the
//! figures are split between a query the viewer sends for the first time and a repeat.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;
use tokio::time::Instant;

use crate::client::{self, Ws};
use crate::harness::Harness;
use crate::procs::CpuMark;
use crate::report::{self, round};
use crate::setup::{Conn, Inserter, Layout, Rng, FIRST_COURSE, FIRST_USER};

/// The daemon's page of search results (PROTOCOL `people`: up to 20).
const RESULTS_MAX: usize = 20;

/// The shape of the site.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Generated users.
    pub users: usize,
    /// Generated courses.
    pub courses: usize,
    /// Users who search (users 0..viewers), each with a socket.
    pub viewers: usize,
    /// Courses each viewer is at least enrolled in.
    pub viewer_courses: usize,
}

const FIRST: [&str; 64] = [
    "Ana",
    "Adriana",
    "Alberto",
    "Alice",
    "Amir",
    "Andrea",
    "Antonio",
    "Beatriz",
    "Bruno",
    "Camila",
    "Carla",
    "Carlos",
    "Chen",
    "Clara",
    "Daniel",
    "Diana",
    "Diego",
    "Eduardo",
    "Elena",
    "Emma",
    "Fatima",
    "Felipe",
    "Fernanda",
    "Gabriel",
    "Giulia",
    "Hana",
    "Hugo",
    "Ines",
    "Isabel",
    "Ivan",
    "Jana",
    "Joao",
    "Jonas",
    "Julia",
    "Juliana",
    "Karim",
    "Laura",
    "Leon",
    "Lucas",
    "Luisa",
    "Marco",
    "Maria",
    "Mariana",
    "Marta",
    "Mateo",
    "Mei",
    "Miguel",
    "Nadia",
    "Nicolas",
    "Olga",
    "Omar",
    "Pablo",
    "Paula",
    "Pedro",
    "Rafael",
    "Rosa",
    "Samuel",
    "Sara",
    "Sofia",
    "Tatiana",
    "Tomas",
    "Valentina",
    "Yuki",
    "Zoe",
];

const LAST: [&str; 128] = [
    "Abreu",
    "Adams",
    "Almeida",
    "Alvarez",
    "Andrade",
    "Araujo",
    "Bailey",
    "Barbosa",
    "Barros",
    "Becker",
    "Bernard",
    "Braun",
    "Brown",
    "Campos",
    "Cardoso",
    "Carvalho",
    "Castro",
    "Chang",
    "Chen",
    "Costa",
    "Cruz",
    "Dias",
    "Dubois",
    "Duarte",
    "Eriksson",
    "Fernandes",
    "Ferreira",
    "Fischer",
    "Fontaine",
    "Garcia",
    "Gomes",
    "Gonzalez",
    "Gross",
    "Haddad",
    "Hansen",
    "Hartmann",
    "Hoffmann",
    "Horvat",
    "Ibrahim",
    "Ito",
    "Jansen",
    "Jensen",
    "Kaya",
    "Keller",
    "Khan",
    "Kim",
    "Klein",
    "Kowalski",
    "Kraus",
    "Lambert",
    "Lange",
    "Laurent",
    "Lee",
    "Lima",
    "Lopes",
    "Lopez",
    "Machado",
    "Marques",
    "Martin",
    "Martinez",
    "Medeiros",
    "Mendes",
    "Meyer",
    "Mohamed",
    "Moreau",
    "Moreira",
    "Muller",
    "Nakamura",
    "Nascimento",
    "Neumann",
    "Nguyen",
    "Novak",
    "Nunes",
    "Oliveira",
    "Ortiz",
    "Pereira",
    "Peters",
    "Petrov",
    "Pinto",
    "Ramos",
    "Reis",
    "Ribeiro",
    "Richter",
    "Rocha",
    "Rodrigues",
    "Rossi",
    "Russo",
    "Saito",
    "Salazar",
    "Santos",
    "Schmidt",
    "Schneider",
    "Schulz",
    "Silva",
    "Simon",
    "Soares",
    "Sousa",
    "Suzuki",
    "Tanaka",
    "Teixeira",
    "Torres",
    "Vargas",
    "Vieira",
    "Wagner",
    "Walker",
    "Weber",
    "Wolf",
    "Yamamoto",
    "Yilmaz",
    "Zimmermann",
    "Ferrari",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
];

/// The names of generated user `k`: (first, last).
pub fn name(k: usize) -> (&'static str, &'static str) {
    let mut r = Rng::new(0x6e61_6d65 ^ (k as u64).wrapping_mul(0x9e37_79b9));
    let f = FIRST[r.below(FIRST.len() as u64) as usize];
    let l = LAST[r.below(LAST.len() as u64) as usize];
    (f, l)
}

/// Courses and enrolments of the site (course ids from [`FIRST_COURSE`]).
pub fn layout(spec: &Spec) -> Layout {
    let users = spec.users.max(1);
    let mut rng = Rng::new(0x005e_a7c4);
    let courses: Vec<u64> = (0..spec.courses as u64).map(|c| FIRST_COURSE + c).collect();
    let mut enrolments: Vec<Vec<u64>> = vec![Vec::new(); users];
    let mut perm: Vec<usize> = (0..users).collect();
    rng.shuffle(&mut perm);
    let mut pos = 0usize;
    let mut biggest = (0usize, FIRST_COURSE);
    for &c in &courses {
        let size = match rng.below(100) {
            0..=69 => rng.range(25, 60),
            70..=94 => rng.range(61, 200),
            _ => rng.range(201, 500),
        } as usize;
        let size = size.min(users);
        if size > biggest.0 {
            biggest = (size, c);
        }
        let mut members: HashSet<usize> = HashSet::with_capacity(size);
        let mut tries = 0;
        while members.len() < size && tries < 4 * size {
            tries += 1;
            if pos == users {
                rng.shuffle(&mut perm);
                pos = 0;
            }
            let k = perm[pos];
            pos += 1;
            if members.insert(k) {
                enrolments[k].push(c);
            }
        }
    }
    // The viewers: the largest course and more until `viewer_courses`.
    for (v, list) in enrolments.iter_mut().enumerate().take(spec.viewers) {
        if !list.contains(&biggest.1) {
            list.push(biggest.1);
        }
        let mut r = Rng::new(0x7669_6577 + v as u64);
        while list.len() < spec.viewer_courses.min(courses.len()) {
            let c = courses[r.below(courses.len() as u64) as usize];
            if !list.contains(&c) {
                list.push(c);
            }
        }
        list.sort_unstable();
    }
    Layout {
        courses,
        enrolments,
    }
}

/// Who may message whom beyond the courses: preferences, blocks and contacts.
pub struct Privacy {
    /// `message_blocknoncontacts` per user (1 contacts only, 2 the site); absent: 0.
    pub pref: HashMap<usize, u8>,
    /// (blocker, blocked).
    pub blocked: HashSet<(usize, usize)>,
    /// Contact pairs as stored (userid, contactid).
    pub contacts: Vec<(usize, usize)>,
}

impl Privacy {
    /// The privacy rows of `spec` on `lay`.
    pub fn new(spec: &Spec, lay: &Layout) -> Privacy {
        let users = spec.users;
        let viewers = spec.viewers.min(users);
        let mut pref = HashMap::new();
        for k in viewers..users {
            let mut r = Rng::new(0x7072_6566 ^ k as u64);
            match r.below(100) {
                0 | 1 => {
                    pref.insert(k, 1);
                }
                2 => {
                    pref.insert(k, 2);
                }
                _ => {}
            }
        }
        let members = course_members(lay);
        let mut blocked = HashSet::new();
        let mut contacts = Vec::new();
        for v in 0..viewers {
            let mates: Vec<usize> = mates_of(v, lay, &members).into_iter().collect();
            let mut mates: Vec<usize> = mates.into_iter().filter(|&m| m >= viewers).collect();
            mates.sort_unstable();
            let mut r = Rng::new(0x626c_6f63 + v as u64);
            let pick = |r: &mut Rng| mates[r.below(mates.len() as u64) as usize];
            if mates.len() > 8 {
                for _ in 0..3 {
                    blocked.insert((pick(&mut r), v));
                }
                let m = pick(&mut r);
                pref.insert(m, 1);
                contacts.push((v, m));
            }
            let mine: HashSet<u64> = lay.enrolments[v].iter().copied().collect();
            let mut found = 0;
            let mut tries = 0;
            while found < 4 && tries < 10_000 {
                tries += 1;
                let x = viewers + r.below((users - viewers) as u64) as usize;
                if lay.enrolments[x].iter().any(|c| mine.contains(c)) {
                    continue;
                }
                if found == 0 {
                    pref.insert(x, 1);
                }
                contacts.push(if found % 2 == 0 { (v, x) } else { (x, v) });
                found += 1;
            }
        }
        Privacy {
            pref,
            blocked,
            contacts,
        }
    }

    fn is_contact(&self, a: usize, b: usize) -> bool {
        self.contacts
            .iter()
            .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
    }
}

/// Course → members.
fn course_members(lay: &Layout) -> HashMap<u64, Vec<usize>> {
    let mut out: HashMap<u64, Vec<usize>> = HashMap::new();
    for (k, list) in lay.enrolments.iter().enumerate() {
        for &c in list {
            out.entry(c).or_default().push(k);
        }
    }
    out
}

/// Everyone sharing a course with `v` (not `v`).
fn mates_of(v: usize, lay: &Layout, members: &HashMap<u64, Vec<usize>>) -> HashSet<usize> {
    let mut out = HashSet::new();
    for c in &lay.enrolments[v] {
        if let Some(m) = members.get(c) {
            out.extend(m.iter().copied());
        }
    }
    out.remove(&v);
    out
}

/// Inserts the privacy rows (the users, courses and enrolments are the setup's).
pub async fn seed(db: &mut Conn, spec: &Spec, lay: &Layout) -> Result<()> {
    let p = Privacy::new(spec, lay);
    let now = crate::setup::unix_now();
    let uid = |k: usize| FIRST_USER + k as u64;
    let mut prefs: Vec<(&usize, &u8)> = p.pref.iter().collect();
    prefs.sort_unstable();
    let mut ins = Inserter::new(db, "user_preferences", "userid, name, value");
    for (k, v) in prefs {
        ins.row(format!("{}, 'message_blocknoncontacts', '{v}'", uid(*k)))
            .await?;
    }
    ins.flush().await?;
    let mut blocked: Vec<&(usize, usize)> = p.blocked.iter().collect();
    blocked.sort_unstable();
    let mut ins = Inserter::new(
        db,
        "message_users_blocked",
        "userid, blockeduserid, timecreated",
    );
    for (a, b) in blocked {
        ins.row(format!("{}, {}, {now}", uid(*a), uid(*b))).await?;
    }
    ins.flush().await?;
    let mut ins = Inserter::new(db, "message_contacts", "userid, contactid, timecreated");
    for (a, b) in &p.contacts {
        ins.row(format!("{}, {}, {now}", uid(*a), uid(*b))).await?;
    }
    ins.flush().await
}

/// A viewer's side of the model: everyone they may message, sorted as the answer sorts.
struct Viewer {
    /// (last lower, first lower, k) of everyone the viewer may message, in the answer's order.
    allowed: Vec<(String, String, usize)>,
    allowed_set: HashSet<usize>,
    mates: HashSet<usize>,
}

/// Why the viewer may not message `k` (for the violation report).
fn why_not(v: usize, k: usize, view: &Viewer, p: &Privacy) -> &'static str {
    if k == v {
        "the viewer themselves"
    } else if p.blocked.contains(&(k, v)) {
        "blocked the viewer"
    } else if !view.mates.contains(&k) && !p.is_contact(v, k) {
        "a stranger sharing no course"
    } else if p.pref.get(&k) == Some(&1) && !p.is_contact(v, k) {
        "accepts messages from contacts only"
    } else {
        "not allowed"
    }
}

fn viewer_model(v: usize, spec: &Spec, lay: &Layout, p: &Privacy) -> Viewer {
    let members = course_members(lay);
    let mates = mates_of(v, lay, &members);
    let mut candidates: HashSet<usize> = mates.clone();
    for &(a, b) in &p.contacts {
        if a == v {
            candidates.insert(b);
        } else if b == v {
            candidates.insert(a);
        }
    }
    let mut allowed: Vec<(String, String, usize)> = candidates
        .into_iter()
        .filter(|&k| k != v && k < spec.users)
        .filter(|&k| !p.blocked.contains(&(k, v)))
        .filter(|&k| p.pref.get(&k) != Some(&1) || p.is_contact(v, k))
        .map(|k| {
            let (f, l) = name(k);
            (l.to_lowercase(), f.to_lowercase(), k)
        })
        .collect();
    allowed.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    let allowed_set = allowed.iter().map(|a| a.2).collect();
    Viewer {
        allowed,
        allowed_set,
        mates,
    }
}

/// The first [`RESULTS_MAX`] people `view` may message whose first or last name holds each word.
fn expected(view: &Viewer, query: &str) -> Vec<usize> {
    let words: Vec<String> = query
        .split_whitespace()
        .take(3)
        .map(str::to_lowercase)
        .collect();
    view.allowed
        .iter()
        .filter(|(l, f, _)| words.iter().all(|w| l.contains(w) || f.contains(w)))
        .take(RESULTS_MAX)
        .map(|a| a.2)
        .collect()
}

/// A query as the dock sends it once the user stops typing.
fn query(rng: &mut Rng) -> String {
    let pick = |rng: &mut Rng| -> &'static str {
        if rng.pct(50) {
            FIRST[rng.below(FIRST.len() as u64) as usize]
        } else {
            LAST[rng.below(LAST.len() as u64) as usize]
        }
    };
    let q = match rng.below(100) {
        // A prefix of a name.
        0..=59 => {
            let n = pick(rng);
            let len = rng.range(2, n.len().min(6) as u64) as usize;
            n[..len].to_string()
        }
        // Three letters from inside a name.
        60..=74 => {
            let n = pick(rng);
            if n.len() <= 3 {
                n.to_string()
            } else {
                let at = rng.below((n.len() - 2) as u64) as usize;
                n[at..at + 3].to_string()
            }
        }
        // A first name and the start of a last name.
        _ => {
            let f = FIRST[rng.below(FIRST.len() as u64) as usize];
            let l = LAST[rng.below(LAST.len() as u64) as usize];
            let len = rng.range(2, l.len().min(4) as u64) as usize;
            format!("{f} {}", &l[..len])
        }
    };
    if rng.pct(70) {
        q.to_lowercase()
    } else {
        q
    }
}

/// Parameters of a search run.
#[derive(Clone, Debug)]
pub struct Params {
    pub spec: Spec,
    /// Searches in all (over every viewer).
    pub searches: usize,
    /// Least time between two searches of one viewer.
    pub gap: Duration,
    /// Source addresses to spread the sockets over.
    pub src_ips: usize,
}

/// Runs the scenario.
pub async fn run(h: &Harness, p: &Params) -> Result<Vec<(String, Value)>> {
    let spec = &p.spec;
    let lay = layout(spec);
    let privacy = Privacy::new(spec, &lay);
    let viewers = spec.viewers.clamp(1, spec.users);
    let models: Vec<Viewer> = (0..viewers)
        .map(|v| viewer_model(v, spec, &lay, &privacy))
        .collect();
    let ks: Vec<usize> = (0..viewers).collect();
    let mut socks: Vec<Ws> = Vec::with_capacity(viewers);
    for r in h.open_many(&ks, 16, p.src_ips).await? {
        socks.push(r.context("a viewer could not connect")?);
    }

    let mut rng = Rng::new(0x7365_6172);
    let mut last_sent: Vec<Option<Instant>> = vec![None; viewers];
    let mut asked: HashSet<(usize, String)> = HashSet::new();
    let mut h_all = report::histogram();
    let mut h_new = report::histogram();
    let mut h_repeat = report::histogram();
    let mut results_total = 0u64;
    let mut empty = 0u64;
    let mut full = 0u64;
    let mut rate_limited = 0u64;
    let mut errors = 0u64;
    let mut violations = 0u64;
    let mut mismatches = 0u64;
    let mut first_error: Option<String> = None;
    let mut first_mismatch: Option<String> = None;
    let mut violation_list: Vec<String> = Vec::new();
    let cpu0 = CpuMark::now(&h.pids(), h.db_kind());
    let started = Instant::now();
    for i in 0..p.searches {
        let v = i % viewers;
        if let Some(t) = last_sent[v] {
            tokio::time::sleep_until(t + p.gap).await;
        }
        let q = query(&mut rng);
        let frame = serde_json::json!({"type": "people", "query": q}).to_string();
        last_sent[v] = Some(Instant::now());
        let (us, is_error, text) = client::ask(&mut socks[v], &frame, "people").await?;
        if is_error {
            if client::str_field(&text, "code") == Some("rate_limited") {
                rate_limited += 1;
            } else {
                errors += 1;
                first_error.get_or_insert(text);
            }
            continue;
        }
        h_all.saturating_record(us);
        if asked.insert((v, q.to_lowercase())) {
            h_new.saturating_record(us);
        } else {
            h_repeat.saturating_record(us);
        }
        let answer: Value = serde_json::from_str(&text).context("people answer is not JSON")?;
        let items = answer["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let got: Vec<usize> = items
            .iter()
            .filter_map(|it| it["id"].as_u64())
            .map(|id| id.saturating_sub(FIRST_USER) as usize)
            .collect();
        results_total += got.len() as u64;
        if got.is_empty() {
            empty += 1;
        }
        if got.len() == RESULTS_MAX {
            full += 1;
        }
        for (it, &k) in items.iter().zip(&got) {
            if !models[v].allowed_set.contains(&k) {
                violations += 1;
                let line = format!(
                    "viewer {} searching {q:?} got user {} ({}): {}",
                    FIRST_USER + v as u64,
                    FIRST_USER + k as u64,
                    it["fullname"].as_str().unwrap_or(""),
                    why_not(v, k, &models[v], &privacy)
                );
                eprintln!("search VIOLATION: {line}");
                if violation_list.len() < 10 {
                    violation_list.push(line);
                }
            }
        }
        let want = expected(&models[v], &q);
        if got != want {
            mismatches += 1;
            if first_mismatch.is_none() {
                let diff = format!(
                    "viewer {} query {q:?}: got {} people, expected {}",
                    FIRST_USER + v as u64,
                    got.len(),
                    want.len()
                );
                eprintln!("search: answer differs from the model: {diff}");
                first_mismatch = Some(diff);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu1 = CpuMark::now(&h.pids(), h.db_kind());
    for mut ws in socks {
        let _ = tokio::time::timeout(Duration::from_millis(300), ws.close(None)).await;
    }
    let (srv_cpu, gen_cpu, db_cpu) = cpu0.since(&cpu1);
    let answered = h_all.len();
    let per_search_ms = |pct: f64| round(pct / 100.0 * secs * 1000.0 / answered.max(1) as f64, 3);
    let mates: Vec<usize> = models.iter().map(|m| m.mates.len()).collect();
    let mut out: Vec<(String, Value)> = vec![
        ("target".into(), h.target.name().into()),
        ("users".into(), (spec.users as u64).into()),
        ("courses".into(), (lay.courses.len() as u64).into()),
        (
            "enrolments".into(),
            (lay.enrolments.iter().map(Vec::len).sum::<usize>() as u64).into(),
        ),
        ("viewers".into(), (viewers as u64).into()),
        (
            "viewer_mates_min".into(),
            (mates.iter().copied().min().unwrap_or(0) as u64).into(),
        ),
        (
            "viewer_mates_max".into(),
            (mates.iter().copied().max().unwrap_or(0) as u64).into(),
        ),
        ("searches".into(), (p.searches as u64).into()),
        ("answered".into(), answered.into()),
        ("rate_limited".into(), rate_limited.into()),
        ("search_s".into(), round(secs, 2).into()),
    ];
    out.extend(report::latency_fields("search_", &h_all));
    out.extend(report::latency_fields("search_new_", &h_new));
    out.extend(report::latency_fields("search_repeat_", &h_repeat));
    out.push((
        "results_mean".into(),
        round(results_total as f64 / answered.max(1) as f64, 2).into(),
    ));
    out.push(("results_empty".into(), empty.into()));
    out.push(("results_full_page".into(), full.into()));
    out.push(("server_cpu_pct".into(), round(srv_cpu, 1).into()));
    out.push((
        "server_cpu_ms_per_search".into(),
        per_search_ms(srv_cpu).into(),
    ));
    out.push(("db_cpu_pct".into(), round(db_cpu, 1).into()));
    out.push(("db_cpu_ms_per_search".into(), per_search_ms(db_cpu).into()));
    out.push(("loadgen_cpu_pct".into(), round(gen_cpu, 1).into()));
    out.push(("search_errors".into(), errors.into()));
    out.push(("violations".into(), violations.into()));
    out.push(("result_mismatches".into(), mismatches.into()));
    if let Some(e) = first_error {
        out.push(("first_error".into(), e.into()));
    }
    if let Some(d) = first_mismatch {
        out.push(("first_mismatch".into(), d.into()));
    }
    if !violation_list.is_empty() {
        out.push((
            "violation_examples".into(),
            violation_list.join(" | ").into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            users: 3000,
            courses: 120,
            viewers: 3,
            viewer_courses: 5,
        }
    }

    #[test]
    fn layout_gives_everyone_a_few_courses() {
        let lay = layout(&spec());
        let counts: Vec<usize> = lay.enrolments.iter().map(Vec::len).collect();
        let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
        assert!((2.0..6.0).contains(&mean), "{mean}");
        for v in 0..3 {
            assert!(lay.enrolments[v].len() >= 5);
        }
        for list in &lay.enrolments {
            let set: HashSet<_> = list.iter().collect();
            assert_eq!(set.len(), list.len(), "a course twice");
        }
    }

    #[test]
    fn model_excludes_strangers_blockers_and_contacts_only() {
        let s = spec();
        let lay = layout(&s);
        let p = Privacy::new(&s, &lay);
        let view = viewer_model(0, &s, &lay, &p);
        assert!(!view.allowed_set.contains(&0));
        for (blocker, blocked) in &p.blocked {
            if *blocked == 0 {
                assert!(!view.allowed_set.contains(blocker));
            }
        }
        // Contacts are allowed even if they share no course or accept contacts only.
        for (a, b) in &p.contacts {
            if *a == 0 && !p.blocked.contains(&(*b, 0)) {
                assert!(view.allowed_set.contains(b));
            }
        }
        let strangers = (0..s.users).filter(|k| !view.mates.contains(k)).count();
        assert!(strangers > s.users / 2);
        let e = expected(&view, "ma");
        assert!(e.len() <= RESULTS_MAX);
        assert!(e.iter().all(|k| view.allowed_set.contains(k)));
    }

    #[test]
    fn queries_are_two_characters_or_more() {
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let q = query(&mut r);
            assert!(q.trim().len() >= 2, "{q:?}");
        }
    }
}
