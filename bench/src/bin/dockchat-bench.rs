//! `dockchat-bench`: a load generator that speaks the real dockchat protocol (docs/PROTOCOL.md) to a
//! real `dockchatd serve` backed by a real MariaDB or PostgreSQL, and to `dockchat-forwarder` (a bare
//! WebSocket forwarder) for a ratio that survives noisy machines.
//!
//! Each run prepares its own database (`--db-name`, dropped afterwards), writes a daemon config, starts
//! the daemon pinned to core 1 while this process pins itself to core 0, runs one scenario and prints a
//! table followed by one JSON line. Scenarios: `idle`, `pairs`, `typing`, `storm`, `course`, `drawer`, `group`,
//! `roster`, `convlist`, `search`, and `ceiling` (no daemon: the database's own ceiling; see docs/PERFORMANCE.md). Benchmarks measure; they assert nothing about timing.

#[path = "dockchat-bench/ceiling.rs"]
mod ceiling;
#[path = "dockchat-bench/client.rs"]
mod client;
#[path = "dockchat-bench/commits.rs"]
mod commits;
#[path = "dockchat-bench/convlist.rs"]
mod convlist;
#[path = "dockchat-bench/course.rs"]
mod course;
#[path = "dockchat-bench/drawer.rs"]
mod drawer;
#[path = "dockchat-bench/group.rs"]
mod group;
#[path = "dockchat-bench/harness.rs"]
mod harness;
#[path = "dockchat-bench/idle.rs"]
mod idle;
#[path = "dockchat-bench/pairs.rs"]
mod pairs;
#[path = "dockchat-bench/procs.rs"]
mod procs;
#[path = "dockchat-bench/report.rs"]
mod report;
#[path = "dockchat-bench/roster.rs"]
mod roster;
#[path = "dockchat-bench/search.rs"]
mod search;
#[path = "dockchat-bench/setup.rs"]
mod setup;
#[path = "dockchat-bench/storm.rs"]
mod storm;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use serde_json::Value;

use client::Target;
use harness::Harness;
use report::{round, Report};
use setup::{Dataset, DbKind, Extra};

/// Which scenario to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Hold N authenticated idle connections; server RSS per connection.
    Idle,
    /// P pairs chatting 1:1 (persisted); delivered msgs/s and latency.
    Pairs,
    /// P pairs sending typing events (not persisted); events/s.
    Typing,
    /// N users connecting at once; time until all are welcomed.
    Storm,
    /// One course with N online members; join/leave presence fan-out time.
    Course,
    /// P pairs online in the dock while messages are inserted as Moodle's drawer does; insert → dock latency.
    Drawer,
    /// G groups of M online members, group messages at a fixed total rate; send → last member
    /// latency. Defaults: issue 13's first case (1 group of 500, 20 msgs/s); the second case is
    /// `--groups 100 --members 30 --rate 200`.
    Group,
    /// One course of N members (500), N/10 online: `course_members` first pages (cold: the course
    /// read from the database; warm: from the daemon's cache) and `roster`; round-trip latency.
    Roster,
    /// One user with C conversations (2,000: individual, a few groups, the self one; messages,
    /// unread, stars, mutes in Moodle's tables): `conversations` pages as the dock asks for them
    /// (first, second, a deeper one); round-trip latency per page kind, each page checked.
    Convlist,
    /// A site of U users (50,000) and K courses (2,000): `people` searches by V viewers, paced
    /// under the daemon's search limit; latency, results, and every result checked against
    /// Moodle's messaging rules (violations must be 0).
    Search,
    /// No daemon: the database's own ceiling for the daemon's writes (its `store_batch` from W
    /// writers, then bare `messages` INSERTs), rows/s and database CPU per row, the store's
    /// counterpart of the forwarder.
    Ceiling,
    /// Internal: one worker process of `idle`.
    #[value(hide = true)]
    IdleWorker,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Idle => "idle",
            Scenario::Pairs => "pairs",
            Scenario::Typing => "typing",
            Scenario::Storm => "storm",
            Scenario::Course => "course",
            Scenario::Drawer => "drawer",
            Scenario::Group => "group",
            Scenario::Roster => "roster",
            Scenario::Convlist => "convlist",
            Scenario::Search => "search",
            Scenario::Ceiling => "ceiling",
            Scenario::IdleWorker => "idle-worker",
        }
    }
}

/// Which server(s) to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TargetSel {
    /// The real daemon only.
    Dockchatd,
    /// The bare forwarder only.
    Forwarder,
    /// Both, one after the other, plus their ratio.
    Both,
}

/// Load generator for dockchatd (see docs/PERFORMANCE.md).
#[derive(Parser, Debug)]
#[command(name = "dockchat-bench", version, about)]
struct Cli {
    /// Scenario to run.
    #[arg(value_enum)]
    scenario: Scenario,
    /// Database server backing the daemon.
    #[arg(long, value_enum, default_value = "mariadb")]
    db: DbKind,
    /// Connections (idle, storm) or online course members (course).
    #[arg(long)]
    n: Option<usize>,
    /// Pairs of users (pairs, typing, drawer).
    #[arg(long)]
    pairs: Option<usize>,
    /// Total sends per second (pairs; 0 = flat out), messages inserted per second (drawer) or
    /// group messages per second, all groups together (group; default 20).
    #[arg(long)]
    rate: Option<u64>,
    /// Measured seconds (pairs, typing, drawer, group).
    #[arg(long)]
    duration: Option<f64>,
    /// Seconds to wait for deliveries after the last insert (drawer) or send (group).
    #[arg(long)]
    drain: Option<f64>,
    /// Groups, each with its group conversation (group; default 1).
    #[arg(long)]
    groups: Option<usize>,
    /// Members per group, all online (group; default 500).
    #[arg(long)]
    members: Option<usize>,
    /// Database connections inserting messages, like PHP workers (drawer), or transactions in
    /// flight (ceiling; default 4, the daemon's `db_write_pipeline`).
    #[arg(long)]
    writers: Option<u32>,
    /// Sends per transaction (ceiling; default 256, the daemon's full group commit).
    #[arg(long)]
    commit_rows: Option<usize>,
    /// Tiny sizes and short durations: checks that every scenario runs end to end.
    #[arg(long)]
    smoke: bool,
    /// Server(s) to measure: defaults to both for pairs/typing, dockchatd otherwise.
    #[arg(long, value_enum)]
    target: Option<TargetSel>,
    /// Flat out: unacked sends per socket (pairs) or outstanding batches (typing).
    #[arg(long)]
    window: Option<usize>,
    /// Typing frames per ping-terminated batch.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Join/leave cycles (course), bursts (roster), rounds of three pages (convlist; default
    /// 200) or searches in all (search; default 1500).
    #[arg(long)]
    iterations: Option<usize>,
    /// Conversations of the listing user (convlist; default 2000).
    #[arg(long)]
    conversations: Option<usize>,
    /// Users of the site (search; default 50000).
    #[arg(long)]
    users: Option<usize>,
    /// Courses of the site (search; default 2000).
    #[arg(long)]
    courses: Option<usize>,
    /// Users who search, one socket each (search; default 10).
    #[arg(long)]
    viewers: Option<usize>,
    /// Sockets per idle worker process (each process may open at most 20,000 descriptors).
    #[arg(long, default_value_t = 6400)]
    per_worker: usize,
    /// Number of 127.0.0.x source addresses to spread connections over.
    #[arg(long, default_value_t = 4)]
    src_ips: usize,
    /// Course size of the generated site (users per section course; two courses per user).
    #[arg(long, default_value_t = 40)]
    course_size: usize,
    /// Path of dockchatd (default: next to this binary).
    #[arg(long)]
    daemon: Option<PathBuf>,
    /// Path of dockchat-forwarder (default: next to this binary).
    #[arg(long)]
    forwarder: Option<PathBuf>,
    /// Benchmark database name (dropped and recreated).
    #[arg(long, default_value = "dockchat_bench")]
    db_name: String,
    /// Administrative database URL (default: root@127.0.0.1:3306 or postgres@127.0.0.1:5432).
    #[arg(long)]
    db_admin_url: Option<String>,
    /// Keep the benchmark database afterwards.
    #[arg(long)]
    keep_db: bool,
    /// Keep the server's config and log (printed on stderr) afterwards.
    #[arg(long)]
    keep_logs: bool,
    /// Daemon `db_pool_size` (default: the daemon's own default).
    #[arg(long)]
    pool: Option<u32>,
    /// Seconds of traffic before the measured window (pairs, group; default 2): pairs talk for
    /// the first time in it, creating their conversations.
    #[arg(long)]
    warmup: Option<f64>,
    /// Daemon `db_write_pipeline`: group commits in flight (default: the daemon's own default).
    #[arg(long)]
    write_pipeline: Option<usize>,
    /// dockchatd nodes in one cluster over Redis (pairs: the two users of a pair on different
    /// nodes, so every message crosses nodes); 1 = a single node, no Redis.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// The cluster's Redis (with --nodes 2 or more).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Daemon log filter (DOCKCHAT_LOG).
    #[arg(long, default_value = "warn")]
    daemon_log: String,
    /// Do not pin (load generator core 0, server core 1).
    #[arg(long)]
    no_pin: bool,
    /// Internal (idle-worker): server address.
    #[arg(long, hide = true)]
    worker_addr: Option<std::net::SocketAddr>,
    /// idle with --nodes 2 or more: connect everyone to the first node, kill it (SIGKILL) once all
    /// are held, and report how long until every user was welcomed by another node.
    #[arg(long)]
    failover: bool,
    /// Internal (idle-worker): where sockets reconnect when their server goes (repeatable).
    #[arg(long, hide = true)]
    worker_fallback: Vec<std::net::SocketAddr>,
    /// Internal (idle-worker): first user index.
    #[arg(long, hide = true, default_value_t = 0)]
    worker_first: usize,
}

/// Options shared by every scenario once resolved.
pub struct Opts {
    /// Database kind.
    pub db: DbKind,
    /// Benchmark database name.
    pub db_name: String,
    /// Administrative URL.
    pub db_admin_url: String,
    /// dockchatd path.
    pub daemon: PathBuf,
    /// dockchat-forwarder path.
    pub forwarder: PathBuf,
    /// DOCKCHAT_LOG for the daemon.
    pub daemon_log: String,
    /// Pool size override.
    pub pool: Option<u32>,
    /// Write pipeline override.
    pub write_pipeline: Option<usize>,
    /// dockchatd nodes (a cluster over `redis_url` when more than one).
    pub nodes: usize,
    /// The cluster's Redis.
    pub redis_url: String,
    /// Whether to pin the server to core 1.
    pub pin: bool,
    /// `presence.enrolment_refresh_secs` of the daemon, when a scenario needs it short.
    pub enrolment_refresh_secs: Option<u64>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let pinned = cli.scenario != Scenario::IdleWorker && procs::pin_self(!cli.no_pin);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dockchat-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if cli.scenario == Scenario::IdleWorker {
        rt.block_on(run_worker(&cli))
    } else {
        rt.block_on(run(&cli, pinned)).map(|r| r.print())
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dockchat-bench {}: {e:#}", cli.scenario.name());
            ExitCode::FAILURE
        }
    }
}

async fn run_worker(cli: &Cli) -> Result<()> {
    let count = cli.n.context("idle-worker needs --n")?;
    idle::check_budget(count)?;
    let target = match cli.target {
        Some(TargetSel::Forwarder) => Target::Forwarder,
        _ => Target::Dockchatd,
    };
    idle::worker(idle::WorkerSpec {
        addr: cli.worker_addr.context("idle-worker needs --worker-addr")?,
        target,
        secret: std::env::var("DOCKCHAT_BENCH_SECRET").ok(),
        first: cli.worker_first,
        fallback: cli.worker_fallback.clone(),
        count,
        src_ips: cli.src_ips,
    })
    .await
}

/// Per-scenario sizes: the full benchmark or the smoke.
fn pick<T>(smoke: bool, given: Option<T>, full: T, tiny: T) -> T {
    given.unwrap_or(if smoke { tiny } else { full })
}

async fn run(cli: &Cli, pinned: bool) -> Result<Report> {
    let opts = Opts {
        db: cli.db,
        db_name: cli.db_name.clone(),
        db_admin_url: cli
            .db_admin_url
            .clone()
            .unwrap_or_else(|| cli.db.default_admin_url().to_string()),
        daemon: match &cli.daemon {
            Some(p) => p.clone(),
            None => procs::sibling("dockchatd")?,
        },
        forwarder: match &cli.forwarder {
            Some(p) => p.clone(),
            None => procs::sibling("dockchat-forwarder")?,
        },
        daemon_log: cli.daemon_log.clone(),
        pool: cli.pool,
        write_pipeline: cli.write_pipeline,
        pin: !cli.no_pin,
        nodes: cli.nodes.max(1),
        redis_url: cli.redis_url.clone(),
        // The roster scenario lets the course cache expire between bursts.
        enrolment_refresh_secs: (cli.scenario == Scenario::Roster).then_some(1),
    };
    let smoke = cli.smoke;
    let scenario = cli.scenario;
    let default_target = match scenario {
        Scenario::Pairs | Scenario::Typing => TargetSel::Both,
        _ => TargetSel::Dockchatd,
    };
    let sel = cli.target.unwrap_or(default_target);
    if scenario == Scenario::Course && sel != TargetSel::Dockchatd {
        bail!("course needs presence, which only dockchatd has: use --target dockchatd");
    }
    if scenario == Scenario::Group && sel != TargetSel::Dockchatd {
        bail!("group needs the daemon's group conversations: use --target dockchatd");
    }
    if scenario == Scenario::Roster && sel != TargetSel::Dockchatd {
        bail!("roster needs the daemon's courses: use --target dockchatd");
    }
    if matches!(scenario, Scenario::Convlist | Scenario::Search) && sel != TargetSel::Dockchatd {
        bail!(
            "{} needs the daemon's Moodle tables: use --target dockchatd",
            scenario.name()
        );
    }
    if scenario == Scenario::Drawer && sel != TargetSel::Dockchatd {
        bail!("drawer needs the daemon's poll of Moodle's tables: use --target dockchatd");
    }
    let targets: Vec<Target> = match sel {
        TargetSel::Dockchatd => vec![Target::Dockchatd],
        TargetSel::Forwarder => vec![Target::Forwarder],
        TargetSel::Both => vec![Target::Dockchatd, Target::Forwarder],
    };

    let mut report = Report::new(scenario.name());
    report.set("db", cli.db.name());
    report.set("smoke", smoke);
    report.set("pinned", pinned);
    report.set("cores", procs::cores() as u64);

    let (dataset, params): (Dataset, Vec<(String, Value)>);
    let n = pick(smoke, cli.n, default_n(scenario), tiny_n(scenario));
    let pairs_n = pick(smoke, cli.pairs, 1000, 10);
    let pairs_params = pairs::Params {
        pairs: pairs_n,
        rate: cli.rate.unwrap_or(0),
        warmup: pick(smoke, cli.warmup, 2.0, 0.5),
        duration: pick(smoke, cli.duration, 10.0, 2.0),
        window: pick(smoke, cli.window, 16, 4),
        batch: cli.batch.max(1),
        src_ips: cli.src_ips,
    };
    let iterations = pick(smoke, cli.iterations, 20, 3);
    let drawer_params = drawer::Params {
        pairs: pick(smoke, cli.pairs, 200, 5),
        rate: pick(smoke, cli.rate, 200, 50),
        duration: pick(smoke, cli.duration, 20.0, 2.0),
        drain: pick(smoke, cli.drain, 3.0, 2.0),
        writers: pick(smoke, cli.writers, 8, 2),
        src_ips: cli.src_ips,
    };
    let conv_spec = convlist::Spec {
        conversations: pick(smoke, cli.conversations, 2000, 150).max(4),
        groups: if smoke { 3 } else { 8 },
        background_per_user: 2,
        favourites: if smoke { 4 } else { 8 },
        muted: if smoke { 3 } else { 12 },
    };
    let search_spec = search::Spec {
        users: pick(smoke, cli.users, 50_000, 3000).max(50),
        courses: pick(smoke, cli.courses, 2000, 120).max(1),
        viewers: pick(smoke, cli.viewers, 10, 2).max(1),
        viewer_courses: 5,
    };
    let group_params = group::Params {
        groups: pick(smoke, cli.groups, 1, 2),
        members: pick(smoke, cli.members, 500, 5),
        rate: pick(smoke, cli.rate, 20, 20),
        warmup: pick(smoke, cli.warmup, 2.0, 0.5),
        duration: pick(smoke, cli.duration, 20.0, 2.0),
        drain: pick(smoke, cli.drain, 3.0, 2.0),
        src_ips: cli.src_ips,
    };
    // The users of `pairs_n` pairs, each in two courses (pairs, typing, ceiling).
    let pairs_dataset = Dataset {
        users: pairs_n * 2,
        course_size: cli.course_size,
        cross: true,
        big_course: 0,
        group_members: 0,
        extra: Extra::None,
    };
    match scenario {
        Scenario::Idle | Scenario::Storm => {
            dataset = Dataset {
                users: n,
                course_size: cli.course_size,
                cross: true,
                big_course: 0,
                group_members: 0,
                extra: Extra::None,
            };
            params = vec![("n".into(), (n as u64).into())];
        }
        Scenario::Pairs | Scenario::Typing => {
            dataset = pairs_dataset;
            let mut p: Vec<(String, Value)> = vec![("pairs".into(), (pairs_n as u64).into())];
            if scenario == Scenario::Pairs {
                p.push(("rate".into(), pairs_params.rate.into()));
            }
            p.push(("duration_s".into(), pairs_params.duration.into()));
            if pairs_params.rate == 0 || scenario == Scenario::Typing {
                p.push(("window".into(), (pairs_params.window as u64).into()));
            }
            params = p;
        }
        Scenario::Course => {
            dataset = Dataset {
                users: n + 1,
                course_size: cli.course_size,
                cross: false,
                big_course: n + 1,
                group_members: 0,
                extra: Extra::None,
            };
            params = vec![
                ("members".into(), (n as u64).into()),
                ("iterations".into(), (iterations as u64).into()),
            ];
        }
        Scenario::Drawer => {
            dataset = Dataset {
                users: drawer_params.pairs * 2,
                course_size: cli.course_size,
                cross: true,
                big_course: 0,
                group_members: 0,
                extra: Extra::None,
            };
            params = vec![
                ("pairs".into(), (drawer_params.pairs as u64).into()),
                ("rate".into(), drawer_params.rate.into()),
                ("duration_s".into(), drawer_params.duration.into()),
                ("drain_limit_s".into(), drawer_params.drain.into()),
            ];
        }
        Scenario::Group => {
            let gp = &group_params;
            dataset = Dataset {
                users: gp.groups * gp.members,
                // One section course per group (members come in consecutive users).
                course_size: gp.members,
                cross: false,
                big_course: 0,
                group_members: gp.members,
                extra: Extra::None,
            };
            params = vec![
                ("groups".into(), (gp.groups as u64).into()),
                ("members".into(), (gp.members as u64).into()),
                ("rate".into(), gp.rate.into()),
                ("duration_s".into(), gp.duration.into()),
                ("drain_limit_s".into(), gp.drain.into()),
            ];
        }
        Scenario::Roster => {
            dataset = Dataset {
                users: n,
                course_size: cli.course_size,
                cross: false,
                big_course: n,
                group_members: 0,
                extra: Extra::None,
            };
            params = vec![
                ("members".into(), (n as u64).into()),
                ("iterations".into(), (iterations as u64).into()),
            ];
        }
        Scenario::Convlist => {
            dataset = Dataset {
                users: conv_spec.users(),
                course_size: cli.course_size,
                cross: true,
                big_course: 0,
                group_members: 0,
                extra: Extra::Conversations(conv_spec.clone()),
            };
            params = vec![
                (
                    "conversations_asked".into(),
                    (conv_spec.conversations as u64).into(),
                ),
                ("page_size".into(), (convlist::PAGE as u64).into()),
            ];
        }
        Scenario::Search => {
            dataset = Dataset {
                users: search_spec.users,
                course_size: cli.course_size,
                cross: false,
                big_course: 0,
                group_members: 0,
                extra: Extra::Site(search_spec.clone()),
            };
            params = vec![("search_gap_ms".into(), 260u64.into())];
        }
        Scenario::Ceiling => {
            dataset = pairs_dataset;
            params = Vec::new();
        }
        Scenario::IdleWorker => bail!("idle-worker is internal"),
    }
    report.extend(params);

    if scenario == Scenario::Ceiling {
        let p = ceiling::Params {
            pairs: pairs_n,
            writers: pick(smoke, cli.writers, 4, 2) as usize,
            batch: pick(smoke, cli.commit_rows, 256, 16),
            duration: pick(smoke, cli.duration, 10.0, 1.0),
        };
        let prepared = setup::prepare(opts.db, &opts.db_admin_url, &opts.db_name, &dataset)
            .await
            .context("preparing the benchmark database")?;
        report.set("db_setup_s", round(prepared.setup_secs, 2));
        let outcome = ceiling::run(opts.db, &prepared, &p).await;
        if !cli.keep_db {
            let _ = setup::drop_database(opts.db, &opts.db_admin_url, &opts.db_name).await;
        }
        report.extend(outcome.context("ceiling")?);
        return Ok(report);
    }

    let several = targets.len() > 1;
    let mut results: Vec<(Target, Vec<(String, Value)>)> = Vec::new();
    for target in targets {
        let mut h = match target {
            Target::Dockchatd => {
                let h = Harness::dockchatd(&opts, &dataset).await?;
                if let Some(p) = &h.prepared {
                    report.set("db_setup_s", round(p.setup_secs, 2));
                }
                h
            }
            Target::Forwarder => Harness::forwarder(&opts)?,
        };
        report.set(&format!("{}_pinned_core1", target.name()), h.server.pinned);
        if target == Target::Dockchatd {
            report.set("dockchatd_nodes", h.nodes());
        }
        let outcome = match scenario {
            Scenario::Idle => idle::run(&mut h, n, cli.per_worker, cli.src_ips, cli.failover).await,
            Scenario::Pairs => pairs::run(&h, &pairs_params, pairs::Mode::Messages).await,
            Scenario::Typing => pairs::run(&h, &pairs_params, pairs::Mode::Typing).await,
            Scenario::Storm => storm::run(&h, n, cli.src_ips).await,
            Scenario::Course => course::run(&h, n, iterations, cli.src_ips).await,
            Scenario::Drawer => drawer::run(&h, opts.db, &drawer_params).await,
            Scenario::Group => group::run(&h, &group_params).await,
            Scenario::Roster => {
                let p = roster::Params {
                    members: n,
                    bursts: iterations,
                    burst: 10,
                    src_ips: cli.src_ips,
                };
                roster::run(&h, &p).await
            }
            Scenario::Convlist => {
                let p = convlist::Params {
                    spec: conv_spec.clone(),
                    rounds: pick(smoke, cli.iterations, 200, 5),
                    online: if smoke { 5 } else { 100 },
                    src_ips: cli.src_ips,
                };
                convlist::run(&h, &p).await
            }
            Scenario::Search => {
                let p = search::Params {
                    spec: search_spec.clone(),
                    searches: pick(smoke, cli.iterations, 1500, 24),
                    gap: std::time::Duration::from_millis(260),
                    src_ips: cli.src_ips,
                };
                search::run(&h, &p).await
            }
            Scenario::IdleWorker => unreachable!("handled in main"),
            Scenario::Ceiling => unreachable!("handled before the targets"),
        };
        let finished = h.finish(cli.keep_logs);
        if target == Target::Dockchatd && !cli.keep_db {
            let _ = setup::drop_database(opts.db, &opts.db_admin_url, &opts.db_name).await;
        }
        let fields =
            outcome.with_context(|| format!("{} against {}", scenario.name(), target.name()))?;
        finished?;
        results.push((target, fields));
    }
    for (target, fields) in &results {
        for (k, v) in fields {
            if k == "target" {
                continue;
            }
            if several {
                report.set(&format!("{}_{k}", target.name()), v.clone());
            } else {
                report.set(k, v.clone());
            }
        }
    }
    if several {
        let key = match scenario {
            Scenario::Pairs if cli.rate.unwrap_or(0) == 0 => Some("delivered_per_s"),
            Scenario::Pairs => Some("latency_p99_ms"),
            Scenario::Typing => Some("typing_processed_per_s"),
            Scenario::Idle => Some("rss_per_conn_kib"),
            Scenario::Storm => Some("all_welcomed_s"),
            _ => None,
        };
        if let Some(key) = key {
            let d = report
                .get(&format!("dockchatd_{key}"))
                .and_then(Value::as_f64);
            let f = report
                .get(&format!("forwarder_{key}"))
                .and_then(Value::as_f64);
            if let (Some(d), Some(f)) = (d, f) {
                if f > 0.0 {
                    report.set("ratio_of", key);
                    report.set("ratio", round(d / f, 3));
                }
            }
        }
    }
    Ok(report)
}

fn default_n(s: Scenario) -> usize {
    match s {
        Scenario::Idle => 19_000,
        Scenario::Storm => 10_000,
        Scenario::Course => 1_000,
        Scenario::Roster => 500,
        _ => 0,
    }
}

fn tiny_n(s: Scenario) -> usize {
    match s {
        Scenario::Idle => 60,
        Scenario::Storm => 50,
        Scenario::Course => 30,
        Scenario::Roster => 30,
        _ => 0,
    }
}
