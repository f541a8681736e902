//! `dockchatd demo`: try dockchat in a minute.
//!
//! Owns: creating the embedded SQLite database (or using `--database-url`) with Moodle's schema
//! subset and the block's tables (from `moodle-block/db/install.xml`), seeding a small Moodle-shaped
//! site, and the demo-only HTTP routes (CONTRACTS §4): the demo page, the block's very own client
//! modules, templates, styles and strings (embedded at build time), the list of demo users, token
//! minting with the demo secret (the same claims the block mints), generated SVG avatars, and
//! `POST /demo/drawer`, which stores a message as Moodle's message drawer does (to try messages that
//! reach the dock from Moodle).
//! Must not: take any other path than production for authentication, presence, storage or the
//! protocol: the demo runs the production server with these extra routes.

use crate::ops::config::Config;
use crate::store::seed::{
    demo_session_id, user_context, SeedCourse, SeedEnrolment, SeedGroup, SeedUser,
};
use crate::store::{now, xmldb, Dialect, Store};
use crate::ws::server::{respond, Body, ExtraRoutes};
use anyhow::Context;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/demo_assets.rs"));

const TEACHER: i64 = 3;
const STUDENT: i64 = 5;
/// Lifetime of demo tokens, like the block's default.
const TOKEN_LIFETIME: i64 = 300;

/// The templates the demo page carries (issue 15 item 2), as the block sends its first-render templates with a
/// Moodle page (`dock::templates_html`): the client's `FIRST_RENDER_TEMPLATES` (a JS test keeps them in this
/// list), and the block's own and the navbar launcher's, which the demo page renders itself where Moodle renders
/// them on the server.
const PAGE_TEMPLATES: &[&str] = &[
    "block",
    "navlauncher",
    "dock",
    "window",
    "message",
    "day",
    "online_user",
    "conversation",
    "head",
];

/// Where `index.html` takes the page's templates.
const PAGE_TEMPLATES_MARK: &str = "<!--dockchat:page-templates-->";

fn users() -> Vec<SeedUser> {
    let u = |id, username, firstname, lastname, lang| SeedUser {
        id,
        username,
        firstname,
        lastname,
        lang,
    };
    vec![
        u(3, "msouza", "Margarida", "Souza", "pt"),
        u(4, "kwatanabe", "Kenji", "Watanabe", "en"),
        u(5, "aokafor", "Amara", "Okafor", "en"),
        u(6, "lferreira", "Lucas", "Ferreira", "pt"),
        u(7, "srossi", "Sofia", "Rossi", "en"),
        u(8, "asharma", "Aarav", "Sharma", "en"),
        u(9, "epetrova", "Elena", "Petrova", "en"),
        u(10, "mgarcia", "Mateo", "García", "es"),
        u(11, "cdubois", "Chloé", "Dubois", "fr"),
    ]
}

fn courses() -> Vec<SeedCourse> {
    vec![
        SeedCourse {
            id: 2,
            shortname: "PSY101",
            fullname: "Introduction to Psychology",
        },
        SeedCourse {
            id: 3,
            shortname: "STAT110",
            fullname: "Applied Statistics",
        },
        SeedCourse {
            id: 4,
            shortname: "LIT201",
            fullname: "World Literature",
        },
    ]
}

fn enrolments() -> Vec<SeedEnrolment> {
    let e = |userid, courseid, roleid| SeedEnrolment {
        userid,
        courseid,
        roleid,
    };
    vec![
        // Margarida teaches Psychology and Literature; Kenji teaches Statistics.
        e(3, 2, TEACHER),
        e(3, 4, TEACHER),
        e(4, 3, TEACHER),
        e(5, 2, STUDENT),
        e(5, 3, STUDENT),
        e(6, 2, STUDENT),
        e(7, 2, STUDENT),
        e(7, 4, STUDENT),
        e(8, 3, STUDENT),
        e(9, 2, STUDENT),
        e(9, 4, STUDENT),
        e(10, 3, STUDENT),
        e(10, 4, STUDENT),
        e(11, 2, STUDENT),
        e(11, 3, STUDENT),
    ]
}

/// The course groups whose conversations the demo shows (Moodle creates one per group with
/// messaging enabled).
fn groups() -> Vec<SeedGroup> {
    vec![SeedGroup {
        id: 1,
        courseid: 2,
        name: "PSY101 Study group",
        // Amara, Lucas, Sofia and Elena: students of Introduction to Psychology.
        members: &[5, 6, 7, 9],
        // A picture of its own (served by `avatar`, as Moodle's pluginfile.php would).
        picture: 1,
    }]
}

/// A random secret from the OS (hex).
fn random_secret() -> anyhow::Result<String> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("reading /dev/urandom for the demo secret")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The demo site and its routes.
#[derive(Debug)]
pub struct Demo {
    site_url: String,
    ws_url: String,
    secret: String,
    store: Store,
    users: Vec<SeedUser>,
    courses: Vec<SeedCourse>,
    enrolments: Vec<SeedEnrolment>,
}

/// Runs the demo until SIGTERM/SIGINT.
pub async fn run(listen: &str, database_url: Option<String>) -> anyhow::Result<()> {
    let listener = match crate::ops::systemd::inherited_listener().context("socket activation")? {
        Some(l) => l,
        None => {
            let l = std::net::TcpListener::bind(listen)
                .with_context(|| format!("cannot listen on {listen}"))?;
            l.set_nonblocking(true).context("non-blocking listener")?;
            l
        }
    };
    let addr = listener.local_addr().context("listener address")?;
    let tmp = match &database_url {
        Some(_) => None,
        None => {
            let dir = std::env::temp_dir().join(format!(
                "dockchat-demo-{}-{}",
                std::process::id(),
                now()
            ));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            Some(dir)
        }
    };
    let url = match (&database_url, &tmp) {
        (Some(u), _) => u.clone(),
        (None, Some(dir)) => format!("sqlite://{}", dir.join("demo.sqlite").display()),
        (None, None) => anyhow::bail!("no database"),
    };
    if let Some(dir) = &tmp {
        // Said first, so nobody is surprised that the messages are gone after a restart (and so that
        // open tabs, which start over from the empty database, are no mystery either).
        println!(
            "dockchat demo: the database is temporary ({}) and is deleted when the demo stops; \
             to keep one across restarts: dockchatd demo --database-url sqlite:///path/to/demo.sqlite",
            dir.display()
        );
    }
    let result = async {
        let demo = Arc::new(prepare(&url, &addr.to_string()).await?);
        let config = Config {
            listen: addr.to_string(),
            site_url: demo.site_url.clone(),
            database_url: url.clone(),
            db_pool_size: 4,
            ..Config::default()
        };
        crate::app::run_with_listener(config, crate::app::Mode::Demo, Some(demo), Some(listener))
            .await
    }
    .await;
    if let Some(dir) = tmp {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// Creates the schema and the demo site if the database does not hold one yet.
pub async fn prepare(url: &str, addr: &str) -> anyhow::Result<Demo> {
    let store = Store::connect(url, "mdl_", 4)
        .await
        .with_context(|| format!("opening the demo database {url}"))?;
    if !store.demo_seeded().await {
        let dialect = store.dialect();
        store
            .execute_script(&crate::store::moodle_schema::statements(dialect))
            .await
            .context("creating Moodle's tables (use an empty database for the demo)")?;
        let block = xmldb::block_schema().context("reading install.xml")?;
        store
            .execute_script(&block.create_statements(dialect, "mdl_"))
            .await
            .context("creating the block's tables")?;
        store
            .seed_demo(
                &users(),
                &courses(),
                &enrolments(),
                &groups(),
                &random_secret()?,
            )
            .await
            .context("seeding the demo site")?;
        if dialect != Dialect::Sqlite {
            tracing::info!(%dialect, "demo site created in the given database");
        }
    }
    let secret = store
        .plugin_config("block_dockchat", "secret")
        .await?
        .context("the demo secret is missing")?;
    Ok(Demo {
        site_url: format!("http://{addr}"),
        ws_url: format!("ws://{addr}/ws"),
        secret,
        store,
        users: users(),
        courses: courses(),
        enrolments: enrolments(),
    })
}

fn asset(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "mustache" | "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn serve_asset(path: &str) -> Response<Body> {
    match asset(path) {
        Some(bytes) => {
            let mut r = respond(
                StatusCode::OK,
                content_type(path),
                Bytes::from_static(bytes),
            );
            r.headers_mut().insert(
                hyper::header::CACHE_CONTROL,
                hyper::header::HeaderValue::from_static("no-cache"),
            );
            r
        }
        None => not_found(),
    }
}

/// A template's source without its `{{! … }}` comments, as Moodle's template loader sends it to the browser.
fn strip_template_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{{!") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => rest = &rest[start + end + 2..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The data element that carries the page's templates: `{"templates": {"block_dockchat/<name>": source}}`
/// in a `<script type="application/json">`, with `<`, `>` and `&` written as JSON escapes (as PHP's
/// `JSON_HEX_TAG | JSON_HEX_AMP`), so no `</script>` in a template can end the element.
fn page_templates_element() -> String {
    let mut templates = serde_json::Map::new();
    for name in PAGE_TEMPLATES {
        if let Some(bytes) = asset(&format!("templates/{name}.mustache")) {
            let source = strip_template_comments(&String::from_utf8_lossy(bytes));
            templates.insert(
                format!("block_dockchat/{name}"),
                serde_json::Value::String(source),
            );
        }
    }
    let json = json!({ "templates": templates })
        .to_string()
        .replace('<', "\\u003C")
        .replace('>', "\\u003E")
        .replace('&', "\\u0026");
    format!("<script type=\"application/json\" data-region=\"block_dockchat-templates\">{json}</script>")
}

/// The demo page, with its templates unless the address says `pagetemplates=0` (the page as before issue 15
/// item 2, for measurements: the client then fetches each template).
fn demo_page(query: Option<&str>) -> Response<Body> {
    let Some(bytes) = asset("demo/index.html") else {
        return not_found();
    };
    let without = query.is_some_and(|q| q.split('&').any(|kv| kv == "pagetemplates=0"));
    let element = if without {
        String::new()
    } else {
        page_templates_element()
    };
    let html = String::from_utf8_lossy(bytes).replacen(PAGE_TEMPLATES_MARK, &element, 1);
    let mut r = respond(StatusCode::OK, "text/html; charset=utf-8", html);
    r.headers_mut().insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    r
}

fn not_found() -> Response<Body> {
    respond(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "not found\n",
    )
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Response<Body> {
    respond(status, "application/json", v.to_string())
}

/// Parses the `$string['key'] = 'value';` lines of a Moodle language file.
pub fn parse_lang(php: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = php;
    while let Some(pos) = rest.find("$string[") {
        rest = &rest[pos + "$string[".len()..];
        let Some((key, after)) = read_php_string(rest.trim_start()) else {
            continue;
        };
        let after = after.trim_start();
        let Some(after) = after.strip_prefix(']') else {
            continue;
        };
        let Some(after) = after.trim_start().strip_prefix('=') else {
            continue;
        };
        let mut value = String::new();
        let mut cur = after.trim_start();
        // Values may be concatenations of literals: 'a' . 'b'.
        while let Some((part, after)) = read_php_string(cur) {
            value.push_str(&part);
            cur = after.trim_start();
            match cur.strip_prefix('.') {
                Some(next) => cur = next.trim_start(),
                None => break,
            }
        }
        out.insert(key, value);
        rest = cur;
    }
    out
}

/// Reads one PHP string literal at the start of `s`; returns it and the rest.
fn read_php_string(s: &str) -> Option<(String, &str)> {
    let quote = s.chars().next()?;
    if quote != '\'' && quote != '"' {
        return None;
    }
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Some((out, &s[1 + i + 1..]));
        }
        if c == '\\' {
            let (_, n) = chars.next()?;
            match (quote, n) {
                ('\'', '\'') | (_, '\\') => out.push(n),
                ('"', '"') | ('"', '$') => out.push(n),
                ('"', 'n') => out.push('\n'),
                ('"', 't') => out.push('\t'),
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// Escapes text for SVG.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The other loopback spellings of `site` (`http://127.0.0.1:8080` → `http://localhost:8080`,
/// `http://[::1]:8080`); none for an address that is not a loopback one.
fn loopback_aliases(site: &str) -> Vec<String> {
    let Some(rest) = site.strip_prefix("http://") else {
        return Vec::new();
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h, format!(":{p}")),
        _ => (rest, String::new()),
    };
    let names = ["127.0.0.1", "localhost", "[::1]"];
    if !names.contains(&host) {
        return Vec::new();
    }
    names
        .iter()
        .filter(|n| **n != host)
        .map(|n| format!("http://{n}{port}"))
        .collect()
}

/// An avatar: initials on a colour derived from the user id.
fn avatar_svg(initials: &str, id: i64) -> String {
    const COLOURS: [&str; 8] = [
        "#0f6cbf", "#8e44ad", "#c0392b", "#16a085", "#d35400", "#2c3e50", "#27ae60", "#b03a75",
    ];
    let bg = COLOURS[(id.unsigned_abs() as usize) % COLOURS.len()];
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100"><rect width="100" height="100" fill="{bg}"/><text x="50" y="50" dy=".35em" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="40" font-weight="600" fill="#ffffff">{}</text></svg>"##,
        xml_escape(initials)
    )
}

impl ExtraRoutes for Demo {
    fn handle(
        &self,
        req: Request<Incoming>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send + '_>> {
        Box::pin(self.route(req))
    }

    /// The demo's page opened under another loopback name of its address (`localhost`, `[::1]`,
    /// `127.0.0.1`) connects too.
    fn extra_origins(&self) -> Vec<String> {
        loopback_aliases(&self.site_url)
    }
}

impl Demo {
    fn user(&self, id: i64) -> Option<&SeedUser> {
        self.users.iter().find(|u| u.id == id)
    }

    fn avatar_url(&self, u: &SeedUser) -> String {
        format!(
            "{}/pluginfile.php/{}/user/icon/boost/f1?rev=1",
            self.site_url,
            user_context(u.id)
        )
    }

    fn users_json(&self) -> serde_json::Value {
        let list: Vec<serde_json::Value> = self
            .users
            .iter()
            .map(|u| {
                let mine: Vec<&SeedEnrolment> = self
                    .enrolments
                    .iter()
                    .filter(|e| e.userid == u.id)
                    .collect();
                let teacher = mine.iter().any(|e| e.roleid == TEACHER);
                let courses: Vec<serde_json::Value> = self
                    .courses
                    .iter()
                    .filter(|c| mine.iter().any(|e| e.courseid == c.id))
                    .map(|c| json!({"id": c.id, "fullname": c.fullname, "shortname": c.shortname}))
                    .collect();
                json!({
                    "id": u.id,
                    "fullname": format!("{} {}", u.firstname, u.lastname),
                    "avatar": self.avatar_url(u),
                    "role": if teacher { "teacher" } else { "student" },
                    "lang": u.lang,
                    "courses": courses,
                })
            })
            .collect();
        serde_json::Value::Array(list)
    }

    /// Mints the block's token for a demo user (same claims as `block_dockchat_get_token`).
    fn mint(&self, id: i64) -> anyhow::Result<(String, i64)> {
        let teaching: Vec<i64> = self
            .enrolments
            .iter()
            .filter(|e| e.userid == id && e.roleid == TEACHER)
            .map(|e| e.courseid)
            .collect();
        let iat = now();
        let exp = iat + TOKEN_LIFETIME;
        let claims = json!({
            "iss": self.site_url,
            "aud": "dockchat",
            "sub": id.to_string(),
            "iat": iat,
            "exp": exp,
            "sid": crate::services::auth::token_sid(&demo_session_id(id)),
            "caps": {"send": true, "readall": false, "anyuser": false, "anyusercourses": teaching, "deleteown": true},
        });
        let token = encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret.as_bytes()),
        )
        .context("signing the demo token")?;
        Ok((token, exp))
    }

    async fn token(&self, req: Request<Incoming>) -> Response<Body> {
        let body = match http_body_util::Limited::new(req.into_body(), 4096)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return json_response(StatusCode::BAD_REQUEST, &json!({"error": "body too large"}))
            }
        };
        let id = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("user").and_then(|u| u.as_i64()));
        let Some(user) = id.and_then(|id| self.user(id)) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": "unknown demo user"}),
            );
        };
        // Moodle bumps the session on every request; so does the demo.
        if let Err(e) = self.store.touch_demo_session(user.id).await {
            tracing::warn!(error = %e, "touching the demo session failed");
        }
        match self.mint(user.id) {
            Ok((token, exp)) => json_response(
                StatusCode::OK,
                &json!({"token": token, "exp": exp, "wsurl": self.ws_url}),
            ),
            Err(e) => {
                tracing::error!(error = %e, "minting a demo token failed");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": "internal"}),
                )
            }
        }
    }

    /// `POST /demo/drawer {"from": id, "to": id, "text": "..."}`: the demo plays Moodle's message
    /// drawer, storing the message the way Moodle does, so the dock shows it arriving from Moodle.
    async fn drawer(&self, req: Request<Incoming>) -> Response<Body> {
        let body = match http_body_util::Limited::new(req.into_body(), 16 * 1024)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return json_response(StatusCode::BAD_REQUEST, &json!({"error": "body too large"}))
            }
        };
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let from = v
            .get("from")
            .and_then(|u| u.as_i64())
            .and_then(|id| self.user(id));
        let to = v
            .get("to")
            .and_then(|u| u.as_i64())
            .and_then(|id| self.user(id));
        let text = v.get("text").and_then(|t| t.as_str()).unwrap_or("").trim();
        let (Some(from), Some(to)) = (from, to) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": "unknown demo user"}),
            );
        };
        if text.is_empty() || from.id == to.id {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": "a text to someone else is needed"}),
            );
        }
        match self.store.demo_drawer_message(from.id, to.id, text).await {
            Ok(id) => json_response(StatusCode::OK, &json!({"id": id})),
            Err(e) => {
                tracing::error!(error = %e, "storing a drawer message failed");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": "internal"}),
                )
            }
        }
    }

    /// `POST /demo/favourite {"user": id, "conv": id, "star": bool}`: the demo plays Moodle's
    /// `core_message_set_favourite_conversations` / `core_message_unset_favourite_conversations`
    /// (PROTOCOL §4.1: the client stars through Moodle, then tells the daemon).
    async fn favourite(&self, req: Request<Incoming>) -> Response<Body> {
        let body = match http_body_util::Limited::new(req.into_body(), 4096)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return json_response(StatusCode::BAD_REQUEST, &json!({"error": "body too large"}))
            }
        };
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let user = v
            .get("user")
            .and_then(|u| u.as_i64())
            .and_then(|id| self.user(id));
        let conv = v.get("conv").and_then(|c| c.as_i64()).filter(|c| *c > 0);
        let star = v.get("star").and_then(|s| s.as_bool());
        let (Some(user), Some(conv), Some(star)) = (user, conv, star) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": "user, conv and star are needed"}),
            );
        };
        match self.store.demo_favourite(user.id, conv, star).await {
            Ok(true) => json_response(StatusCode::OK, &json!({})),
            // As Moodle: "Conversation doesn't exist or user is not a member".
            Ok(false) => json_response(StatusCode::BAD_REQUEST, &json!({"error": "not a member"})),
            Err(e) => {
                tracing::error!(error = %e, "storing a demo favourite failed");
                json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": "internal"}),
                )
            }
        }
    }

    fn avatar(&self, path: &str) -> Response<Body> {
        // A group's picture: /pluginfile.php/<course ctxid>/group/icon/<group id>/f1
        if let Some(rest) = path.split("/group/icon/").nth(1) {
            let group = rest.split('/').next().and_then(|g| g.parse::<i64>().ok());
            let svg = match groups().into_iter().find(|g| Some(g.id) == group) {
                Some(g) => avatar_svg(&g.name.chars().take(2).collect::<String>(), 100 + g.id),
                None => avatar_svg("?", 0),
            };
            return respond(StatusCode::OK, "image/svg+xml", svg);
        }
        // /pluginfile.php/<ctxid>/user/icon/<theme>/f1
        let ctx = path
            .strip_prefix("/pluginfile.php/")
            .and_then(|r| r.split('/').next())
            .and_then(|c| c.parse::<i64>().ok());
        let user = ctx.and_then(|c| self.users.iter().find(|u| user_context(u.id) == c));
        let svg = match user {
            Some(u) => {
                let initials: String = [u.firstname, u.lastname]
                    .iter()
                    .filter_map(|n| n.chars().next())
                    .collect();
                avatar_svg(&initials, u.id)
            }
            None => avatar_svg("?", 0),
        };
        respond(StatusCode::OK, "image/svg+xml", svg)
    }

    fn lang(&self, code: &str) -> Response<Body> {
        if !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return not_found();
        }
        match asset(&format!("lang/{code}/block_dockchat.php")) {
            Some(php) => {
                let map = parse_lang(&String::from_utf8_lossy(php));
                respond(
                    StatusCode::OK,
                    "application/json",
                    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into()),
                )
            }
            None => not_found(),
        }
    }

    /// Serves one demo route.
    pub async fn route(&self, req: Request<Incoming>) -> Response<Body> {
        let path = req.uri().path().to_string();
        if path.contains("..") {
            return not_found();
        }
        match (req.method(), path.as_str()) {
            (&Method::GET, "/") | (&Method::GET, "/index.html") => demo_page(req.uri().query()),
            (&Method::GET, "/demo/users") => json_response(StatusCode::OK, &self.users_json()),
            (&Method::POST, "/demo/token") => self.token(req).await,
            (&Method::POST, "/demo/drawer") => self.drawer(req).await,
            (&Method::POST, "/demo/favourite") => self.favourite(req).await,
            (&Method::GET, "/styles.css") => serve_asset("styles.css"),
            (&Method::GET, p) if p.starts_with("/demo/") => serve_asset(&p[1..]),
            (&Method::GET, p) if p.starts_with("/client/") => serve_asset(&p[1..]),
            (&Method::GET, p) if p.starts_with("/templates/") => serve_asset(&p[1..]),
            (&Method::GET, p) if p.starts_with("/lang/") && p.ends_with(".json") => {
                self.lang(&p["/lang/".len()..p.len() - ".json".len()])
            }
            (&Method::GET, p) if p.starts_with("/pluginfile.php/") => self.avatar(p),
            (&Method::GET, p) if p.starts_with("/theme/image.php/") => {
                respond(StatusCode::OK, "image/svg+xml", avatar_svg("", 5))
            }
            _ => not_found(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_its_templates_escaped() {
        assert_eq!(
            strip_template_comments("a{{! one }}b{{!\n two\n}}c{{x}}"),
            "abc{{x}}"
        );
        let element = page_templates_element();
        let body = element
            .strip_prefix(
                "<script type=\"application/json\" data-region=\"block_dockchat-templates\">",
            )
            .and_then(|e| e.strip_suffix("</script>"))
            .expect("one data element");
        assert!(
            !body.contains('<') && !body.contains('>'),
            "no tag can close it"
        );
        let parsed: serde_json::Value = serde_json::from_str(body).expect("JSON");
        for name in PAGE_TEMPLATES {
            let source = parsed["templates"][format!("block_dockchat/{name}")]
                .as_str()
                .unwrap_or_default();
            assert!(source.trim_start().starts_with('<'), "{name}: {source:.40}");
            assert!(!source.contains("{{!"), "{name}: comments stripped");
        }
        let page = demo_page(None);
        assert_eq!(page.status(), StatusCode::OK);
    }

    #[test]
    fn parses_moodle_lang_files() {
        let php = r#"<?php
defined('MOODLE_INTERNAL') || die();
$string['a'] = 'Plain';
$string['b'] = 'It\'s {$a} here';
$string["c"] = "Double \"quoted\"";
$string['d'] = 'One ' . 'two';
// $string['x'] is mentioned in a comment without a value
"#;
        let m = parse_lang(php);
        assert_eq!(m["a"], "Plain");
        assert_eq!(m["b"], "It's {$a} here");
        assert_eq!(m["c"], "Double \"quoted\"");
        assert_eq!(m["d"], "One two");
        assert!(!m.contains_key("x"));
    }

    #[test]
    fn english_strings_are_embedded() {
        let php = asset("lang/en/block_dockchat.php").expect("lang/en embedded");
        let m = parse_lang(&String::from_utf8_lossy(php));
        assert!(m.contains_key("pluginname"));
    }

    #[test]
    fn loopback_names_of_the_demo_address_are_accepted() {
        assert_eq!(
            loopback_aliases("http://127.0.0.1:8080"),
            ["http://localhost:8080", "http://[::1]:8080"]
        );
        assert_eq!(
            loopback_aliases("http://localhost:9"),
            ["http://127.0.0.1:9", "http://[::1]:9"]
        );
        assert!(loopback_aliases("http://10.0.0.5:8080").is_empty());
        assert!(loopback_aliases("https://127.0.0.1:8080").is_empty());
    }

    #[test]
    fn avatars_escape_text() {
        let s = avatar_svg("<&>", 3);
        assert!(s.contains("&lt;&amp;&gt;"));
    }

    #[test]
    fn demo_site_shape() {
        let teachers = enrolments().iter().filter(|e| e.roleid == TEACHER).count();
        assert!(teachers >= 2);
        assert!(users().len() >= 8);
        assert_eq!(courses().len(), 3);
    }
}
