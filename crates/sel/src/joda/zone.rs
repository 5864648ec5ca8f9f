//! Joda `DateTimeZone` on top of jiff's bundled tz database: Joda's id rules (`UTC`, fixed
//! offsets `+05:30`, case-sensitive ids, links canonicalised to their target), offsets at an
//! instant, and Joda's local-to-UTC resolution (in a DST gap or overlap Joda takes the offset in
//! force before the transition: the earlier instant of an overlap, a gap time pushed forward).
//! Zone names for the `z`/`zzzz` pattern letters come from a small table of the JDK's en_US
//! names, with tzdb abbreviations as the fallback.

use super::chrono::{self, MILLIS_PER_HOUR, MILLIS_PER_MINUTE, MILLIS_PER_SECOND};
use super::zone_links::LINKS;
use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, TimeZone};
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

#[derive(Debug)]
enum Kind {
    Fixed(i64),
    Tz(TimeZone),
}

#[derive(Debug)]
struct Inner {
    id: String,
    kind: Kind,
}

/// A time zone as Joda sees it: an id and its rules.
#[derive(Clone, Debug)]
pub struct Zone(Arc<Inner>);

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.id)
    }
}

fn available_ids() -> &'static HashSet<String> {
    static IDS: OnceLock<HashSet<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut set: HashSet<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .collect();
        for (alias, _) in LINKS {
            set.insert(alias.to_string());
        }
        set
    })
}

/// Every zone id `forID` accepts by name, sorted (for parsing `ZZZ`).
pub fn all_ids() -> &'static [String] {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut v: Vec<String> = available_ids().iter().cloned().collect();
        v.sort();
        v
    })
}

fn utc_zone() -> &'static Zone {
    static UTC: OnceLock<Zone> = OnceLock::new();
    UTC.get_or_init(|| {
        Zone(Arc::new(Inner {
            id: "UTC".into(),
            kind: Kind::Fixed(0),
        }))
    })
}

/// Joda `printOffset`: `+05:30`, with seconds and millis only when non-zero.
pub fn print_offset(offset: i64) -> String {
    let mut out = String::new();
    out.push(if offset < 0 { '-' } else { '+' });
    let mut o = offset.abs();
    let h = o / MILLIS_PER_HOUR;
    o %= MILLIS_PER_HOUR;
    let m = o / MILLIS_PER_MINUTE;
    o %= MILLIS_PER_MINUTE;
    out.push_str(&format!("{h:02}:{m:02}"));
    if o != 0 {
        let s = o / MILLIS_PER_SECOND;
        o %= MILLIS_PER_SECOND;
        out.push_str(&format!(":{s:02}"));
        if o != 0 {
            out.push_str(&format!(".{o:03}"));
        }
    }
    out
}

/// Parses Joda's offset id forms: `+HH`, `+HH:mm`, `+HHmm`, `+HH:mm:ss`, `+HH:mm:ss.SSS`.
fn parse_offset_id(id: &str) -> Option<i64> {
    let (neg, rest) = match id.as_bytes().first() {
        Some(b'+') => (false, &id[1..]),
        Some(b'-') => (true, &id[1..]),
        _ => return None,
    };
    let b = rest.as_bytes();
    let two = |i: usize| -> Option<i64> {
        let s = b.get(i..i + 2)?;
        if s.iter().all(u8::is_ascii_digit) {
            Some(((s[0] - b'0') * 10 + (s[1] - b'0')) as i64)
        } else {
            None
        }
    };
    let h = two(0)?;
    if h > 23 {
        return None;
    }
    let mut offset = h * MILLIS_PER_HOUR;
    let mut i = 2;
    if i < b.len() {
        let sep = b[i] == b':';
        if sep {
            i += 1;
        }
        let m = two(i)?;
        if m > 59 {
            return None;
        }
        offset += m * MILLIS_PER_MINUTE;
        i += 2;
        if i < b.len() {
            if sep {
                if b[i] != b':' {
                    return None;
                }
                i += 1;
            }
            let s = two(i)?;
            if s > 59 {
                return None;
            }
            offset += s * MILLIS_PER_SECOND;
            i += 2;
            if i < b.len() {
                if sep {
                    if b[i] != b'.' {
                        return None;
                    }
                    i += 1;
                }
                let ms = b.get(i..i + 3)?;
                if !ms.iter().all(u8::is_ascii_digit) || i + 3 != b.len() {
                    return None;
                }
                offset += std::str::from_utf8(ms).ok()?.parse::<i64>().ok()?;
            }
        }
    }
    Some(if neg { -offset } else { offset })
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        utc_zone().clone()
    }

    /// A fixed-offset zone, as Joda's `forOffsetMillis` (offset 0 is UTC).
    pub fn fixed(offset_millis: i64) -> Zone {
        if offset_millis == 0 {
            return Zone::utc();
        }
        Zone(Arc::new(Inner {
            id: print_offset(offset_millis),
            kind: Kind::Fixed(offset_millis),
        }))
    }

    /// Joda's `DateTimeZone.forID`.
    pub fn for_id(id: &str) -> Result<Zone, String> {
        if id == "UTC" {
            return Ok(Zone::utc());
        }
        let canonical = match LINKS.binary_search_by(|(alias, _)| (*alias).cmp(id)) {
            Ok(i) => LINKS[i].1,
            Err(_) => id,
        };
        if available_ids().contains(canonical)
            && let Ok(tz) = jiff::tz::db().get(canonical)
        {
            return Ok(Zone(Arc::new(Inner {
                id: canonical.to_string(),
                kind: Kind::Tz(tz),
            })));
        }
        if (id.starts_with('+') || id.starts_with('-'))
            && let Some(offset) = parse_offset_id(id)
        {
            return Ok(Zone::fixed(offset));
        }
        Err(format!("The datetime zone id '{id}' is not recognised"))
    }

    /// The zone's id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// Whether this is the zone `UTC`.
    pub fn is_utc(&self) -> bool {
        matches!(self.0.kind, Kind::Fixed(0))
    }

    fn timestamp(instant: i64) -> Timestamp {
        let clamped = instant.clamp(
            Timestamp::MIN.as_millisecond() + MILLIS_PER_DAY_2,
            Timestamp::MAX.as_millisecond() - MILLIS_PER_DAY_2,
        );
        Timestamp::from_millisecond(clamped).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Offset from UTC in milliseconds at an instant.
    pub fn offset(&self, instant: i64) -> i64 {
        match &self.0.kind {
            Kind::Fixed(o) => *o,
            Kind::Tz(tz) => tz.to_offset(Zone::timestamp(instant)).seconds() as i64 * 1000,
        }
    }

    /// Local millis of an instant.
    pub fn to_local(&self, instant: i64) -> i64 {
        instant.saturating_add(self.offset(instant))
    }

    fn ambiguous(tz: &TimeZone, local: i64) -> AmbiguousOffset {
        let c = chrono::civil(local);
        if !(-9999..=9999).contains(&c.year) {
            // Out of jiff's civil range: use the rules at the nearest representable instant.
            return AmbiguousOffset::Unambiguous {
                offset: tz.to_offset(Zone::timestamp(local)),
            };
        }
        let mod_ = c.millis_of_day;
        let dt = jiff::civil::DateTime::new(
            c.year as i16,
            c.month as i8,
            c.day as i8,
            (mod_ / MILLIS_PER_HOUR) as i8,
            (mod_ / MILLIS_PER_MINUTE % 60) as i8,
            (mod_ / MILLIS_PER_SECOND % 60) as i8,
            (mod_ % 1000 * 1_000_000) as i32,
        );
        match dt {
            Ok(dt) => tz.to_ambiguous_timestamp(dt).offset(),
            Err(_) => AmbiguousOffset::Unambiguous {
                offset: tz.to_offset(Zone::timestamp(local)),
            },
        }
    }

    /// Joda's `getOffsetFromLocal`: the offset for a local time, taking the offset in force
    /// before the transition when the local time is in a gap or an overlap.
    pub fn offset_from_local(&self, local: i64) -> i64 {
        match &self.0.kind {
            Kind::Fixed(o) => *o,
            Kind::Tz(tz) => match Zone::ambiguous(tz, local) {
                AmbiguousOffset::Unambiguous { offset } => offset.seconds() as i64 * 1000,
                AmbiguousOffset::Gap { before, .. } | AmbiguousOffset::Fold { before, .. } => {
                    before.seconds() as i64 * 1000
                }
            },
        }
    }

    /// Whether a local time does not exist (a DST gap).
    pub fn is_gap(&self, local: i64) -> bool {
        match &self.0.kind {
            Kind::Fixed(_) => false,
            Kind::Tz(tz) => matches!(Zone::ambiguous(tz, local), AmbiguousOffset::Gap { .. }),
        }
    }

    /// The earlier and later offsets of a local time in an overlap.
    pub fn fold_offsets(&self, local: i64) -> Option<(i64, i64)> {
        match &self.0.kind {
            Kind::Fixed(_) => None,
            Kind::Tz(tz) => match Zone::ambiguous(tz, local) {
                AmbiguousOffset::Fold { before, after } => Some((
                    before.seconds() as i64 * 1000,
                    after.seconds() as i64 * 1000,
                )),
                _ => None,
            },
        }
    }

    /// Joda's lenient `convertLocalToUTC(local, false)`.
    pub fn local_to_utc(&self, local: i64) -> i64 {
        local.saturating_sub(self.offset_from_local(local))
    }

    /// Joda's `convertLocalToUTC(local, false, originalInstant)`: keeps the original instant's
    /// offset when it is valid for the new local time.
    pub fn local_to_utc_keeping(&self, local: i64, original: i64) -> i64 {
        let original_offset = self.offset(original);
        let utc = local.saturating_sub(original_offset);
        if self.offset(utc) == original_offset {
            return utc;
        }
        self.local_to_utc(local)
    }

    /// Joda's strict conversion: an error message for a local time in a gap.
    pub fn local_to_utc_strict(&self, local: i64) -> Result<i64, String> {
        let offset = self.offset_from_local(local);
        let utc = local.saturating_sub(offset);
        if self.offset(utc) != offset {
            return Err(self.gap_message(local));
        }
        Ok(utc)
    }

    /// Joda's `IllegalInstantException` message for a local time in a gap.
    pub fn gap_message(&self, local: i64) -> String {
        format!(
            "Illegal instant due to time zone offset transition (daylight savings time 'gap'): {} ({})",
            super::datetime::local_iso(local),
            self.id()
        )
    }

    /// tzdb abbreviation at an instant (`PDT`), if the zone has rules.
    fn abbreviation(&self, instant: i64) -> Option<String> {
        match &self.0.kind {
            Kind::Fixed(_) => None,
            Kind::Tz(tz) => Some(
                tz.to_offset_info(Zone::timestamp(instant))
                    .abbreviation()
                    .to_string(),
            ),
        }
    }

    fn is_dst(&self, instant: i64) -> bool {
        match &self.0.kind {
            Kind::Fixed(_) => false,
            Kind::Tz(tz) => tz.to_offset_info(Zone::timestamp(instant)).dst().is_dst(),
        }
    }

    /// Short display name (`z`): the JDK's en_US short name where known, else the tzdb
    /// abbreviation when it is alphabetic, else the printed offset.
    pub fn short_name(&self, instant: i64) -> String {
        if let Kind::Fixed(o) = self.0.kind {
            return if o == 0 {
                "UTC".into()
            } else {
                self.0.id.clone()
            };
        }
        if let Some(names) = names(self.id()) {
            return if self.is_dst(instant) {
                names.3
            } else {
                names.1
            }
            .to_string();
        }
        match self.abbreviation(instant) {
            Some(a) if a.chars().all(|c| c.is_ascii_alphabetic()) => a,
            _ => print_offset(self.offset(instant)),
        }
    }

    /// Long display name (`zzzz`).
    pub fn long_name(&self, instant: i64) -> String {
        if let Kind::Fixed(o) = self.0.kind {
            return if o == 0 {
                "Coordinated Universal Time".into()
            } else {
                self.0.id.clone()
            };
        }
        if let Some(names) = names(self.id()) {
            return if self.is_dst(instant) {
                names.2
            } else {
                names.0
            }
            .to_string();
        }
        print_offset(self.offset(instant))
    }
}

const MILLIS_PER_DAY_2: i64 = 2 * chrono::MILLIS_PER_DAY;

/// (standard long, standard short, daylight long, daylight short) names, JDK en_US.
fn names(id: &str) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    const PACIFIC: (&str, &str, &str, &str) = (
        "Pacific Standard Time",
        "PST",
        "Pacific Daylight Time",
        "PDT",
    );
    const MOUNTAIN: (&str, &str, &str, &str) = (
        "Mountain Standard Time",
        "MST",
        "Mountain Daylight Time",
        "MDT",
    );
    const CENTRAL: (&str, &str, &str, &str) = (
        "Central Standard Time",
        "CST",
        "Central Daylight Time",
        "CDT",
    );
    const EASTERN: (&str, &str, &str, &str) = (
        "Eastern Standard Time",
        "EST",
        "Eastern Daylight Time",
        "EDT",
    );
    const CET: (&str, &str, &str, &str) = (
        "Central European Standard Time",
        "CET",
        "Central European Summer Time",
        "CEST",
    );
    const EET: (&str, &str, &str, &str) = (
        "Eastern European Standard Time",
        "EET",
        "Eastern European Summer Time",
        "EEST",
    );
    Some(match id {
        "America/Los_Angeles" | "America/Vancouver" | "America/Tijuana" | "PST8PDT" => PACIFIC,
        "America/Denver" | "America/Phoenix" | "America/Boise" | "America/Edmonton" | "MST"
        | "MST7MDT" => MOUNTAIN,
        "America/Chicago" | "America/Winnipeg" | "America/Mexico_City" | "CST6CDT" => CENTRAL,
        "America/New_York"
        | "America/Detroit"
        | "America/Toronto"
        | "America/Indiana/Indianapolis"
        | "America/Kentucky/Louisville"
        | "EST"
        | "EST5EDT" => EASTERN,
        "America/Anchorage" => (
            "Alaska Standard Time",
            "AKST",
            "Alaska Daylight Time",
            "AKDT",
        ),
        "Pacific/Honolulu" | "HST" => (
            "Hawaii-Aleutian Standard Time",
            "HST",
            "Hawaii-Aleutian Daylight Time",
            "HDT",
        ),
        "America/Halifax" => (
            "Atlantic Standard Time",
            "AST",
            "Atlantic Daylight Time",
            "ADT",
        ),
        "America/Sao_Paulo" => (
            "Brasilia Standard Time",
            "BRT",
            "Brasilia Summer Time",
            "BRST",
        ),
        "Europe/London" => ("Greenwich Mean Time", "GMT", "British Summer Time", "BST"),
        "Europe/Dublin" => ("Greenwich Mean Time", "GMT", "Irish Standard Time", "IST"),
        "Europe/Lisbon" => (
            "Western European Standard Time",
            "WET",
            "Western European Summer Time",
            "WEST",
        ),
        "Europe/Berlin" | "Europe/Paris" | "Europe/Amsterdam" | "Europe/Brussels"
        | "Europe/Madrid" | "Europe/Rome" | "Europe/Vienna" | "Europe/Zurich"
        | "Europe/Stockholm" | "Europe/Oslo" | "Europe/Copenhagen" | "Europe/Prague"
        | "Europe/Warsaw" | "Europe/Budapest" | "CET" => CET,
        "Europe/Athens" | "Europe/Helsinki" | "Europe/Kiev" | "Europe/Kyiv"
        | "Europe/Bucharest" | "EET" => EET,
        "Europe/Moscow" => ("Moscow Standard Time", "MSK", "Moscow Summer Time", "MSD"),
        "Asia/Kolkata" => ("India Standard Time", "IST", "India Daylight Time", "IDT"),
        "Asia/Tokyo" => ("Japan Standard Time", "JST", "Japan Daylight Time", "JDT"),
        "Asia/Seoul" => ("Korean Standard Time", "KST", "Korean Daylight Time", "KDT"),
        "Asia/Shanghai" => ("China Standard Time", "CST", "China Daylight Time", "CDT"),
        "Asia/Hong_Kong" => (
            "Hong Kong Standard Time",
            "HKT",
            "Hong Kong Summer Time",
            "HKST",
        ),
        "Asia/Singapore" => (
            "Singapore Standard Time",
            "SGT",
            "Singapore Daylight Time",
            "SGT",
        ),
        "Australia/Sydney" | "Australia/Melbourne" | "Australia/Hobart" => (
            "Australian Eastern Standard Time",
            "AEST",
            "Australian Eastern Daylight Time",
            "AEDT",
        ),
        "Etc/UTC" | "Etc/UCT" | "Etc/Universal" | "Etc/Zulu" => (
            "Coordinated Universal Time",
            "UTC",
            "Coordinated Universal Time",
            "UTC",
        ),
        "Etc/GMT" | "Etc/Greenwich" => ("Greenwich Mean Time", "GMT", "Greenwich Mean Time", "GMT"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_joda() {
        assert_eq!(Zone::for_id("UTC").unwrap().id(), "UTC");
        assert_eq!(
            Zone::for_id("US/Pacific").unwrap().id(),
            "America/Los_Angeles"
        );
        assert_eq!(Zone::for_id("Asia/Calcutta").unwrap().id(), "Asia/Kolkata");
        assert_eq!(Zone::for_id("GMT").unwrap().id(), "Etc/GMT");
        assert_eq!(Zone::for_id("+05:30").unwrap().id(), "+05:30");
        assert_eq!(Zone::for_id("-0800").unwrap().id(), "-08:00");
        assert_eq!(Zone::for_id("+00:00").unwrap().id(), "UTC");
        assert!(Zone::for_id("EST").is_ok());
        for bad in [
            "utc",
            "PST",
            "Nowhere/City",
            "../../etc/passwd",
            "",
            "+24:00",
            "america/los_angeles",
        ] {
            assert!(Zone::for_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_and_dst_resolution() {
        let la = Zone::for_id("America/Los_Angeles").unwrap();
        assert_eq!(la.offset(0), -28_800_000);
        // 2021-03-14 02:30 does not exist in LA: Joda uses the pre-transition offset.
        let gap = chrono::local_millis(2021, 3, 14, 2 * MILLIS_PER_HOUR + 30 * MILLIS_PER_MINUTE);
        assert!(la.is_gap(gap));
        assert_eq!(la.offset_from_local(gap), -8 * MILLIS_PER_HOUR);
        assert!(la.local_to_utc_strict(gap).is_err());
        // 2021-11-07 01:30 happens twice: Joda takes the earlier instant (-07:00).
        let fold = chrono::local_millis(2021, 11, 7, MILLIS_PER_HOUR + 30 * MILLIS_PER_MINUTE);
        assert_eq!(la.offset_from_local(fold), -7 * MILLIS_PER_HOUR);
        assert_eq!(la.short_name(1_625_619_600_000), "PDT");
        assert_eq!(la.long_name(1_625_619_600_000), "Pacific Daylight Time");
        let berlin = Zone::for_id("Europe/Berlin").unwrap();
        let fold = chrono::local_millis(2021, 10, 31, 2 * MILLIS_PER_HOUR + 30 * MILLIS_PER_MINUTE);
        assert_eq!(berlin.offset_from_local(fold), 2 * MILLIS_PER_HOUR);
    }

    #[test]
    fn offsets_print_like_joda() {
        assert_eq!(print_offset(-25_200_000), "-07:00");
        assert_eq!(print_offset(19_800_000), "+05:30");
        assert_eq!(print_offset(-28_378_000), "-07:52:58");
    }
}
