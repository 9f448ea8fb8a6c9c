//! When a send window next holds in every one of a recipient's possible time zones: now, a
//! later instant, or never (windows that do not overlap).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::window::SendWindow;

/// How far ahead an opening is looked for: two weeks hold every weekly window's every opening,
/// with room for a daylight saving change in between.
const HORIZON: SignedDuration = SignedDuration::from_hours(15 * 24);

/// Whether the local wall-clock time at `at` is inside `window` in every zone.
pub fn open_everywhere(window: &SendWindow, zones: &[TimeZone], at: Timestamp) -> bool {
    zones.iter().all(|zone| {
        let local = zone.to_datetime(at);
        window.contains(local.weekday(), local.time())
    })
}

/// The first instant at or after `now` at which the window holds in every zone; `None` when it
/// never does.
///
/// The window is read on the wall clock: 01:15 on the night clocks fall back is inside
/// `01:00-02:00` both times it happens, and a window that opens at 02:30 on the night that hour
/// is skipped opens when the clocks jump to 03:00. The set of instants where every zone is open
/// can only begin at `now`, where some zone's window opens (its opening converted with jiff's
/// `compatible` rule), or where some zone's clock jumps (a transition); only those candidates
/// are tried, earliest first.
pub fn next_opening(window: &SendWindow, zones: &[TimeZone], now: Timestamp) -> Option<Timestamp> {
    if open_everywhere(window, zones, now) {
        return Some(now);
    }
    let horizon = now.checked_add(HORIZON).ok()?;
    let mut candidates: Vec<Timestamp> = Vec::new();
    for zone in zones {
        let mut date = zone.to_datetime(now).date();
        while let Ok(start) = zone.to_zoned(date.to_datetime(jiff::civil::Time::midnight())) {
            if start.timestamp() > horizon {
                break;
            }
            candidates.extend(openings_on(window, zone, date));
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        candidates.extend(
            zone.following(now)
                .map(|transition| transition.timestamp())
                .take_while(|at| *at <= horizon),
        );
    }
    candidates.retain(|at| *at > now && *at <= horizon);
    candidates.sort_unstable();
    candidates.dedup();
    candidates
        .into_iter()
        .find(|at| open_everywhere(window, zones, *at))
}

/// The instants at which the window's stretches of `date` open in `zone`.
fn openings_on<'a>(
    window: &'a SendWindow,
    zone: &'a TimeZone,
    date: Date,
) -> impl Iterator<Item = Timestamp> + 'a {
    window
        .hours(date.weekday())
        .iter()
        .filter_map(move |hours| zone.to_zoned(date.to_datetime(hours.opens())).ok())
        .map(|zoned| zoned.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        jiff::tz::db().get(name).unwrap()
    }

    fn at(rfc3339: &str) -> Timestamp {
        rfc3339.parse().unwrap()
    }

    fn opening(window: &str, zones: &[&str], now: &str) -> Option<String> {
        let window = SendWindow::parse(window).unwrap();
        let zones: Vec<TimeZone> = zones.iter().map(|name| zone(name)).collect();
        next_opening(&window, &zones, at(now)).map(|t| t.to_string())
    }

    #[test]
    fn inside_the_window_the_opening_is_now_and_outside_it_is_the_next_local_opening() {
        let window = "Mon-Fri 08:00-21:00; Sat 09:00-18:00";
        let ny = &["America/New_York"];
        let cases = [
            // Monday 30 Nov 2026, 10:00 in New York (EST, -05:00).
            ("2026-11-30T15:00:00Z", Some("2026-11-30T15:00:00Z")),
            // Monday 03:00 local: opens at 08:00 local.
            ("2026-11-30T08:00:00Z", Some("2026-11-30T13:00:00Z")),
            // Monday 21:00 local, the closing minute: Tuesday 08:00.
            ("2026-12-01T02:00:00Z", Some("2026-12-01T13:00:00Z")),
            // Saturday 18:30 local: Monday 08:00.
            ("2026-12-05T23:30:00Z", Some("2026-12-07T13:00:00Z")),
        ];
        for (now, expected) in cases {
            assert_eq!(opening(window, ny, now).as_deref(), expected, "{now}");
        }
    }

    #[test]
    fn a_window_opening_in_the_skipped_hour_opens_when_the_clocks_jump() {
        // 8 March 2026, New York: 02:00 EST jumps to 03:00 EDT. 29 March 2026, London: 01:00
        // GMT jumps to 02:00 BST. In each, the window opens half-way through the skipped hour
        // (and, second, lies wholly inside it).
        let cases = [
            (
                "America/New_York",
                ["Sun 02:30-05:00", "Sun 02:10-02:50"],
                "2026-03-08T06:00:00Z",
                "2026-03-08T07:00:00Z",
            ),
            (
                "Europe/London",
                ["Sun 01:30-05:00", "Sun 01:10-01:50"],
                "2026-03-29T00:00:00Z",
                "2026-03-29T01:00:00Z",
            ),
        ];
        for (name, [opens_in_gap, inside_gap], before, jump) in cases {
            // Before the jump is closed; the opening never comes on the wall clock: the first
            // open instant is the jump.
            assert_eq!(
                opening(opens_in_gap, &[name], before).as_deref(),
                Some(jump),
                "{name}"
            );
            // A window wholly inside the skipped hour does not exist that day: next week.
            let next = opening(inside_gap, &[name], before).unwrap();
            assert!(
                at(&next)
                    > at(before)
                        .checked_add(SignedDuration::from_hours(24 * 6))
                        .unwrap()
            );
        }
    }

    #[test]
    fn the_hour_that_happens_twice_is_inside_a_window_both_times() {
        // 1 November 2026 (New York) and 25 October 2026 (London): 01:00-02:00 happens twice.
        let cases = [
            (
                "America/New_York",
                "2026-11-01T05:15:00Z",
                "2026-11-01T06:15:00Z",
            ),
            (
                "Europe/London",
                "2026-10-25T00:15:00Z",
                "2026-10-25T01:15:00Z",
            ),
        ];
        for (name, first, second) in cases {
            for now in [first, second] {
                assert_eq!(
                    opening("Sun 01:00-01:30", &[name], now).as_deref(),
                    Some(now),
                    "{name} {now}"
                );
            }
            // 01:45 the first time is closed; the window opens again as the clock goes back.
            let first_quarter_to_two = at(first)
                .checked_add(SignedDuration::from_mins(30))
                .unwrap();
            let back = at(first)
                .checked_add(SignedDuration::from_mins(45))
                .unwrap();
            assert_eq!(
                opening(
                    "Sun 01:00-01:30",
                    &[name],
                    &first_quarter_to_two.to_string()
                ),
                Some(back.to_string()),
                "{name}"
            );
        }
    }

    #[test]
    fn several_zones_are_held_to_the_window_of_the_strictest() {
        // 08:00 in New York is 05:00 in Los Angeles: the opening waits for Los Angeles.
        let zones = &["America/New_York", "America/Los_Angeles"];
        assert_eq!(
            opening("Mon-Fri 08:00-21:00", zones, "2026-11-30T13:00:00Z").as_deref(),
            Some("2026-11-30T16:00:00Z")
        );
        // 20:30 in Los Angeles is 23:30 in New York: closed until 08:00 in Los Angeles.
        assert_eq!(
            opening("Mon-Fri 08:00-21:00", zones, "2026-12-01T04:30:00Z").as_deref(),
            Some("2026-12-01T16:00:00Z")
        );
    }

    #[test]
    fn windows_that_never_overlap_have_no_opening() {
        // One hour a week in New York and in Honolulu: never the same hour.
        let zones = &["America/New_York", "Pacific/Honolulu"];
        assert_eq!(
            opening("Mon 09:00-10:00", zones, "2026-11-30T13:00:00Z"),
            None
        );
    }
}
