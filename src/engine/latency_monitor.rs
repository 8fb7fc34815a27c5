//! The latency monitor (LATENCY LATEST/HISTORY/GRAPH/DOCTOR/RESET), as Redis's `latency.c`: per event class, a
//! ring of the last 160 one-second samples (the worst latency seen in that second) and the all-time maximum.
//! Only latencies of at least `latency-monitor-threshold` milliseconds are recorded (0 turns it off).
//!
//! Events recorded: `command` and `fast-command` (a command's run time), `expire-cycle` (the cron's active expiry
//! pass), `eviction-cycle` (freeing memory before a command), `aof-fsync` (the change log's slowest fsync of a
//! cron tick).

use parking_lot::Mutex;
use std::collections::BTreeMap;

/// Samples kept per event (Redis's LATENCY_TS_LEN).
const SERIES_LEN: usize = 160;
/// Width of LATENCY GRAPH.
const GRAPH_COLUMNS: usize = 80;

#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub unix_secs: u64,
    pub ms: u64,
}

/// One event's samples, oldest first once read through [`Series::samples`].
#[derive(Debug, Clone)]
pub struct Series {
    ring: [Sample; SERIES_LEN],
    next: usize,
    pub max_ms: u64,
}

impl Series {
    fn new() -> Series {
        Series { ring: [Sample::default(); SERIES_LEN], next: 0, max_ms: 0 }
    }

    fn add(&mut self, now: u64, ms: u64) {
        self.max_ms = self.max_ms.max(ms);
        let prev = &mut self.ring[(self.next + SERIES_LEN - 1) % SERIES_LEN];
        if prev.unix_secs == now {
            prev.ms = prev.ms.max(ms);
            return;
        }
        self.ring[self.next] = Sample { unix_secs: now, ms };
        self.next = (self.next + 1) % SERIES_LEN;
    }

    /// The recorded samples, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..SERIES_LEN).map(|j| self.ring[(self.next + j) % SERIES_LEN]).filter(|s| s.unix_secs != 0)
    }

    /// The newest sample.
    pub fn latest(&self) -> Sample {
        self.ring[(self.next + SERIES_LEN - 1) % SERIES_LEN]
    }
}

/// Every event's series.
#[derive(Debug, Default)]
pub struct LatencyMonitor {
    events: Mutex<BTreeMap<&'static str, Series>>,
}

impl LatencyMonitor {
    /// Records `ms` for `event` when it reaches `threshold_ms` (0 = monitor off).
    #[inline]
    pub fn add_if_needed(&self, event: &'static str, ms: u64, threshold_ms: u64) {
        if threshold_ms != 0 && ms >= threshold_ms {
            self.add(event, ms);
        }
    }

    pub fn add(&self, event: &'static str, ms: u64) {
        let now = crate::util::clock::unix_ms() / 1000;
        self.events.lock().entry(event).or_insert_with(Series::new).add(now, ms);
    }

    /// Every event with its series, by name.
    pub fn all(&self) -> Vec<(&'static str, Series)> {
        self.events.lock().iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    pub fn get(&self, event: &[u8]) -> Option<Series> {
        self.events.lock().iter().find(|(k, _)| k.as_bytes() == event).map(|(_, v)| v.clone())
    }

    /// Forgets the named events (all of them when `events` is empty); the number that existed.
    pub fn reset(&self, events: &[&[u8]]) -> usize {
        let mut map = self.events.lock();
        if events.is_empty() {
            let n = map.len();
            map.clear();
            return n;
        }
        let mut n = 0;
        for e in events {
            let key = map.keys().find(|k| k.as_bytes() == *e).copied();
            if let Some(k) = key {
                map.remove(k);
                n += 1;
            }
        }
        n
    }
}

/// LATENCY GRAPH's text: Redis's header and its sparkline (`sparkline.c`, filled style, four rows, labels
/// saying how long ago each sample was taken).
pub fn graph(event: &str, series: &Series, now_secs: u64) -> String {
    let samples: Vec<Sample> = series.samples().collect();
    let min = samples.iter().map(|s| s.ms).min().unwrap_or(0);
    let max = samples.iter().map(|s| s.ms).max().unwrap_or(0);
    let mut out = format!("{event} - high {max} ms, low {min} ms (all time high {} ms)\n", series.max_ms);
    out.push_str(&"-".repeat(GRAPH_COLUMNS));
    out.push('\n');
    let labels: Vec<String> = samples
        .iter()
        .map(|s| {
            let ago = now_secs.saturating_sub(s.unix_secs);
            match ago {
                0..=59 => format!("{ago}s"),
                60..=3599 => format!("{}m", ago / 60),
                3600..=86399 => format!("{}h", ago / 3600),
                _ => format!("{}d", ago / 86400),
            }
        })
        .collect();
    for (i, start) in (0..samples.len()).step_by(GRAPH_COLUMNS).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let end = (start + GRAPH_COLUMNS).min(samples.len());
        sparkline(&mut out, &samples[start..end], &labels[start..end], min as f64, max as f64);
    }
    out
}

/// One block of a sparkline: four rows of bars, a blank row, then the labels written downwards.
fn sparkline(out: &mut String, samples: &[Sample], labels: &[String], min: f64, max: f64) {
    const FILL: [u8; 3] = *b"_o#";
    const ROWS: usize = 4;
    let steps = (FILL.len() * ROWS) as f64;
    let range = if max - min == 0.0 { 1.0 } else { max - min };
    let step_of = |s: &Sample| (((s.ms as f64 - min) * steps / range) as usize).min(FILL.len() * ROWS - 1);
    for row in 0..ROWS {
        let line: String = samples
            .iter()
            .map(|s| {
                let idx = step_of(s) as isize - ((ROWS - row - 1) * FILL.len()) as isize;
                match idx {
                    i if i < 0 => ' ',
                    i if (i as usize) < FILL.len() => FILL[i as usize] as char,
                    _ => '|',
                }
            })
            .collect();
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&" ".repeat(samples.len()));
    out.push('\n');
    let rows = labels.iter().map(String::len).max().unwrap_or(0);
    for r in 0..rows {
        let line: String = labels.iter().map(|l| l.as_bytes().get(r).map_or(' ', |&b| b as char)).collect();
        out.push_str(&line);
        out.push('\n');
    }
}

/// LATENCY DOCTOR's report: per event, the spikes' count, average, mean deviation, period and worst, then
/// advice that follows from which events occurred.
pub fn doctor(events: &[(&'static str, Series)], threshold_ms: u64, slowlog_us: i64, now_secs: u64) -> String {
    if threshold_ms == 0 {
        return "Latency monitoring is disabled. Use \"CONFIG SET latency-monitor-threshold <milliseconds>\" to \
                enable it, then ask again once the server has run for a while."
            .to_string();
    }
    if events.is_empty() {
        return format!(
            "No latency spike of {threshold_ms} ms or more was observed during the lifetime of this server."
        );
    }
    let mut out = String::from("Latency spikes were observed in this server.\n\n");
    for (i, (name, series)) in events.iter().enumerate() {
        let samples: Vec<Sample> = series.samples().collect();
        let n = samples.len().max(1) as f64;
        let avg = samples.iter().map(|s| s.ms as f64).sum::<f64>() / n;
        let mad = samples.iter().map(|s| (s.ms as f64 - avg).abs()).sum::<f64>() / n;
        let first = samples.first().map_or(now_secs, |s| s.unix_secs);
        let period = now_secs.saturating_sub(first) as f64 / n;
        out.push_str(&format!(
            "{}. {name}: {} latency spikes (average {avg:.0}ms, mean deviation {mad:.0}ms, period {period:.2} sec). \
             Worst all time event {}ms.\n",
            i + 1,
            samples.len(),
            series.max_ms
        ));
    }
    out.push_str("\nAdvice:\n\n");
    let has = |e: &str| events.iter().any(|(n, _)| *n == e);
    if has("command") || has("fast-command") {
        if slowlog_us < 0 || slowlog_us as u64 > threshold_ms * 1000 {
            out.push_str(&format!(
                "- The slow log only records commands slower than the latency threshold if configured so: use \
                 'CONFIG SET slowlog-log-slower-than {}'.\n",
                threshold_ms * 1000
            ));
        }
        out.push_str(
            "- Check SLOWLOG GET for the commands that are slow to run. O(N) commands on large values (KEYS, \
             SMEMBERS, HGETALL, LRANGE 0 -1 of a long list, DEL of a big key) block the worker that runs them.\n",
        );
    }
    if has("fast-command") {
        out.push_str(
            "- Commands flagged fast (O(1) or O(log N)) were slow: the host may be overloaded or swapping, or \
             the process may have been paused. Check the machine's load and memory.\n",
        );
    }
    if has("expire-cycle") {
        out.push_str(
            "- The active expiry cycle was slow: many keys expire at the same moment. Spread TTLs with a little \
             random jitter.\n",
        );
    }
    if has("eviction-cycle") {
        out.push_str(
            "- Evicting keys to stay under maxmemory was slow: large values are evicted, or writes outpace \
             eviction. Consider a larger maxmemory or smaller values.\n",
        );
    }
    if has("aof-fsync") {
        out.push_str(
            "- The change log's fsync was slow: the disk is busy or slow. appendfsync everysec takes the sync \
             off the reply path; a faster disk helps either way.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_in_one_second_keep_the_worst_and_the_ring_wraps() {
        let mut s = Series::new();
        s.add(100, 5);
        s.add(100, 9);
        s.add(100, 3);
        assert_eq!(s.samples().map(|x| (x.unix_secs, x.ms)).collect::<Vec<_>>(), vec![(100, 9)]);
        for t in 0..200 {
            s.add(1000 + t, t);
        }
        assert_eq!(s.samples().count(), SERIES_LEN);
        assert_eq!(s.samples().next().map(|x| x.unix_secs), Some(1040));
        assert_eq!(s.latest().ms, 199);
        assert_eq!(s.max_ms, 199);
    }

    #[test]
    fn graph_matches_redis_for_two_samples() {
        let mut s = Series::new();
        s.add(1000, 50);
        s.add(1001, 100);
        let g = graph("command", &s, 1011);
        let expected = "command - high 100 ms, low 50 ms (all time high 100 ms)\n".to_string()
            + &"-".repeat(80)
            + "\n #\n |\n |\n_|\n  \n11\n10\nss\n";
        assert_eq!(g, expected);
    }

    #[test]
    fn reset_counts_the_events_that_existed() {
        let m = LatencyMonitor::default();
        m.add_if_needed("command", 5, 0);
        assert!(m.all().is_empty());
        m.add_if_needed("command", 5, 1);
        m.add("expire-cycle", 7);
        assert_eq!(m.reset(&[b"command", b"nosuch"]), 1);
        assert_eq!(m.reset(&[]), 1);
    }
}
