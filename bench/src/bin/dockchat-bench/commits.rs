//! The daemon's group commits over a measured window, from its `/metrics` histograms (size,
//! latency, batches in flight, slow commits) and its log's `slow group commit` lines (the phases of
//! each commit over 100 ms), summed over every node of a cluster.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Cumulative bucket counts per histogram (`le` as written), and the counters, at one moment.
#[derive(Debug, Default, Clone)]
pub struct Scrape {
    buckets: BTreeMap<String, Vec<(f64, u64)>>,
    counters: BTreeMap<String, u64>,
}

/// Reads `/metrics` of every node and sums them; `None` if one does not answer (the forwarder).
pub async fn scrape(nodes: &[SocketAddr]) -> Option<Scrape> {
    let mut total = Scrape::default();
    for addr in nodes {
        let text = fetch_metrics(*addr).await?;
        let one = parse(&text);
        for (name, b) in one.buckets {
            let into = total.buckets.entry(name).or_default();
            if into.is_empty() {
                *into = b;
            } else {
                for (i, (_, n)) in b.into_iter().enumerate() {
                    if let Some(slot) = into.get_mut(i) {
                        slot.1 += n;
                    }
                }
            }
        }
        for (name, n) in one.counters {
            *total.counters.entry(name).or_default() += n;
        }
    }
    Some(total)
}

async fn fetch_metrics(addr: SocketAddr) -> Option<String> {
    let work = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
            .await
            .ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).await.ok()?;
        body.contains("dockchat_").then_some(body)
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .ok()
        .flatten()
}

fn parse(text: &str) -> Scrape {
    let mut out = Scrape::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if let Some((name, rest)) = key.split_once("_bucket{le=\"") {
            let le = rest.trim_end_matches("\"}");
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::INFINITY)
            };
            out.buckets
                .entry(name.to_string())
                .or_default()
                .push((bound, value as u64));
        } else if !key.contains('{') {
            out.counters.insert(key.to_string(), value as u64);
        }
    }
    out
}

/// Bucket counts of `name` between two scrapes (not cumulative), by upper bound.
fn window(before: &Scrape, after: &Scrape, name: &str) -> Vec<(f64, u64)> {
    let (Some(a), b) = (after.buckets.get(name), before.buckets.get(name)) else {
        return Vec::new();
    };
    let mut prev = 0;
    a.iter()
        .enumerate()
        .map(|(i, (bound, n))| {
            let n = n.saturating_sub(b.and_then(|b| b.get(i)).map_or(0, |x| x.1));
            let own = n.saturating_sub(prev);
            prev = n;
            (*bound, own)
        })
        .collect()
}

/// The upper bound of the bucket holding quantile `q` (0 if empty).
fn quantile(buckets: &[(f64, u64)], q: f64) -> f64 {
    let total: u64 = buckets.iter().map(|b| b.1).sum();
    if total == 0 {
        return 0.0;
    }
    let want = (q * total as f64).ceil() as u64;
    let mut seen = 0;
    for (bound, n) in buckets {
        seen += n;
        if seen >= want {
            return *bound;
        }
    }
    f64::INFINITY
}

fn label(bound: f64) -> String {
    if bound.is_infinite() {
        "more".into()
    } else {
        format!("le{bound}")
    }
}

/// The JSON fields of the commits between two scrapes, and of the slow commits in `log`.
pub fn fields(before: &Scrape, after: &Scrape, log: &Path) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let sizes = window(before, after, "dockchat_group_commit_sends");
    let commits: u64 = sizes.iter().map(|b| b.1).sum();
    out.push(("commits".into(), commits.into()));
    let hist: serde_json::Map<String, Value> = sizes
        .iter()
        .filter(|b| b.1 > 0)
        .map(|(bound, n)| (label(*bound), (*n).into()))
        .collect();
    out.push(("commit_size_hist".into(), Value::Object(hist)));
    let lat = window(before, after, "dockchat_group_commit_seconds");
    out.push((
        "commit_p50_ms_le".into(),
        (quantile(&lat, 0.5) * 1000.0).into(),
    ));
    out.push((
        "commit_p99_ms_le".into(),
        (quantile(&lat, 0.99) * 1000.0).into(),
    ));
    let flight = window(before, after, "dockchat_group_commits_in_flight");
    let hist: serde_json::Map<String, Value> = flight
        .iter()
        .filter(|b| b.1 > 0)
        .map(|(bound, n)| (label(*bound), (*n).into()))
        .collect();
    out.push(("commits_in_flight_hist".into(), Value::Object(hist)));
    let slow = after
        .counters
        .get("dockchat_slow_commits_total")
        .copied()
        .unwrap_or(0)
        .saturating_sub(
            before
                .counters
                .get("dockchat_slow_commits_total")
                .copied()
                .unwrap_or(0),
        );
    out.push(("slow_commits".into(), slow.into()));
    out.extend(slow_phases(log));
    out
}

/// Which phase the slow commits of the log spent most of their time in, summed over them.
fn slow_phases(log: &Path) -> Vec<(String, Value)> {
    let Ok(text) = std::fs::read_to_string(log) else {
        return Vec::new();
    };
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    let mut worst = 0u64;
    for line in text.lines().filter(|l| l.contains("slow group commit")) {
        for part in line.split_whitespace() {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let Ok(v) = v.parse::<u64>() else { continue };
            if let Some(phase) = k.strip_suffix("_us") {
                if phase == "total" {
                    worst = worst.max(v);
                } else {
                    *sums.entry(phase.to_string()).or_default() += v;
                }
            }
        }
    }
    let Some((phase, _)) = sums.iter().max_by_key(|(_, v)| **v) else {
        return Vec::new();
    };
    vec![
        ("slow_commit_main_phase".into(), phase.clone().into()),
        (
            "slow_commit_worst_ms".into(),
            (worst as f64 / 1000.0).into(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_quantiles_of_cumulative_buckets() {
        let before = parse("x_bucket{le=\"1\"} 1\nx_bucket{le=\"2\"} 1\nx_bucket{le=\"+Inf\"} 1\n");
        let after =
            parse("x_bucket{le=\"1\"} 3\nx_bucket{le=\"2\"} 10\nx_bucket{le=\"+Inf\"} 11\n");
        let w = window(&before, &after, "x");
        assert_eq!(w, vec![(1.0, 2), (2.0, 7), (f64::INFINITY, 1)]);
        assert_eq!(quantile(&w, 0.5), 2.0);
        assert_eq!(quantile(&w, 0.99), f64::INFINITY);
        assert_eq!(quantile(&w, 0.1), 1.0);
    }
}
