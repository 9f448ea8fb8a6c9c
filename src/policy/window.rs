//! A send window: the local hours of each weekday in which a message may be sent, parsed from
//! `Mon-Fri 08:00-21:00; Sat 09:00-18:00` (a day not listed is closed) and asked whether a
//! local wall-clock time lies inside it.

use std::fmt;

use jiff::civil::{Time, Weekday};

/// One open stretch of a day, `[opens, closes)` in minutes after local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hours {
    opens: u16,
    closes: u16,
}

impl Hours {
    /// The local time at which the stretch opens.
    pub fn opens(self) -> Time {
        let (hour, minute) = (self.opens / 60, self.opens % 60);
        Time::constant(hour as i8, minute as i8, 0, 0)
    }

    fn contains(self, minute_of_day: u16) -> bool {
        (self.opens..self.closes).contains(&minute_of_day)
    }
}

/// The allowed local hours per weekday (Monday first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendWindow {
    days: [Vec<Hours>; 7],
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl SendWindow {
    /// Reads `DAYS HH:MM-HH:MM[,HH:MM-HH:MM]` entries separated by `;`. DAYS is a day
    /// (`Mon`..`Sun`, any case), a range (`Mon-Fri`, `Fri-Mon` wraps) or a comma list of them.
    /// A stretch opens at its first minute and closes before its last (`24:00` ends the day);
    /// stretches of one day may not overlap; at least one stretch is required.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut days: [Vec<Hours>; 7] = Default::default();
        let entries: Vec<&str> = text
            .split(';')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Err(format!("{text:?} lists no days: {FORMAT_HINT}"));
        }
        for entry in entries {
            let (day_list, hour_list) = entry
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("{entry:?} needs days and hours: {FORMAT_HINT}"))?;
            let hours = hour_list
                .split(',')
                .map(|h| parse_hours(h.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            for day in parse_days(day_list.trim())? {
                days[day].extend(hours.iter().copied());
            }
        }
        for (day, hours) in days.iter_mut().enumerate() {
            hours.sort_unstable();
            if let Some(pair) = hours.windows(2).find(|pair| pair[1].opens < pair[0].closes) {
                return Err(format!(
                    "{} has overlapping hours {} and {}",
                    DAY_NAMES[day], pair[0], pair[1]
                ));
            }
        }
        Ok(Self { days })
    }

    /// Whether a local wall-clock time on `weekday` is inside the window.
    pub fn contains(&self, weekday: Weekday, time: Time) -> bool {
        let minute = time.hour() as u16 * 60 + time.minute() as u16;
        self.hours(weekday).iter().any(|h| h.contains(minute))
    }

    /// The open stretches of `weekday`, earliest first.
    pub fn hours(&self, weekday: Weekday) -> &[Hours] {
        &self.days[weekday.to_monday_zero_offset() as usize]
    }
}

const FORMAT_HINT: &str =
    "write the allowed local hours per weekday, e.g. \"Mon-Fri 08:00-21:00; Sat 09:00-18:00\"";

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.opens), hm(self.closes))
    }
}

/// `Mon`, `Mon-Fri`, `Fri-Mon` (wrapping), or a comma list of those: day indexes, Monday 0.
fn parse_days(text: &str) -> Result<Vec<usize>, String> {
    let mut days = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (day_index(first)?, day_index(last)?);
                let span = (last + 7 - first) % 7;
                days.extend((0..=span).map(|offset| (first + offset) % 7));
            }
            None => days.push(day_index(part)?),
        }
    }
    Ok(days)
}

fn day_index(name: &str) -> Result<usize, String> {
    let name = name.trim();
    DAY_NAMES
        .iter()
        .position(|day| day.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("{name:?} is not a day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun"))
}

/// `HH:MM-HH:MM`, opening before closing.
fn parse_hours(text: &str) -> Result<Hours, String> {
    let (opens, closes) = text
        .split_once('-')
        .ok_or_else(|| format!("{text:?} is not a stretch of hours such as 08:00-21:00"))?;
    let (opens, closes) = (minute_of_day(opens, false)?, minute_of_day(closes, true)?);
    if opens >= closes {
        return Err(format!(
            "{text:?} closes before it opens: a stretch may not cross midnight (split it at 24:00)"
        ));
    }
    Ok(Hours { opens, closes })
}

/// `HH:MM` (00:00..23:59; also 24:00 where it closes a stretch) in minutes after midnight.
fn minute_of_day(text: &str, closing: bool) -> Result<u16, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not a time of day HH:MM (00:00 to 24:00)");
    let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
    if hour.len() != 2 || minute.len() != 2 {
        return Err(bad());
    }
    let (hour, minute): (u16, u16) = (
        hour.parse().map_err(|_| bad())?,
        minute.parse().map_err(|_| bad())?,
    );
    match (hour, minute) {
        (24, 0) if closing => Ok(24 * 60),
        (0..=23, 0..=59) => Ok(hour * 60 + minute),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;

    #[test]
    fn well_formed_windows_are_read() {
        /// A window's text, and the stretches it gives some days.
        type Case = (&'static str, &'static [(Weekday, &'static [&'static str])]);
        let cases: &[Case] = &[
            (
                "Mon-Fri 08:00-21:00; Sat 09:00-18:00",
                &[
                    (Weekday::Monday, &["08:00-21:00"]),
                    (Weekday::Friday, &["08:00-21:00"]),
                    (Weekday::Saturday, &["09:00-18:00"]),
                    (Weekday::Sunday, &[]),
                ],
            ),
            (
                "fri-mon 00:00-24:00",
                &[
                    (Weekday::Sunday, &["00:00-24:00"]),
                    (Weekday::Monday, &["00:00-24:00"]),
                    (Weekday::Tuesday, &[]),
                ],
            ),
            (
                "Mon,Wed 09:00-12:00,13:00-17:00;",
                &[
                    (Weekday::Wednesday, &["09:00-12:00", "13:00-17:00"]),
                    (Weekday::Tuesday, &[]),
                ],
            ),
            (
                "Sat 13:00-17:00; Sat 09:00-12:00",
                &[(Weekday::Saturday, &["09:00-12:00", "13:00-17:00"])],
            ),
        ];
        for (text, expected) in cases {
            let window = SendWindow::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            for (day, hours) in *expected {
                let found: Vec<String> = window.hours(*day).iter().map(Hours::to_string).collect();
                assert_eq!(found, *hours, "{text} on {day:?}");
            }
        }
    }

    #[test]
    fn malformed_windows_are_refused_with_what_is_wrong() {
        let cases = [
            ("", "lists no days"),
            (" ; ", "lists no days"),
            ("Mon-Fri", "needs days and hours"),
            ("Mon-Fry 08:00-21:00", "\"Fry\" is not a day"),
            ("Mon 8:00-21:00", "is not a time of day"),
            ("Mon 08:00-24:01", "is not a time of day"),
            ("Mon 24:00-24:00", "is not a time of day"),
            ("Mon 08:60-09:00", "is not a time of day"),
            ("Mon 21:00-08:00", "closes before it opens"),
            ("Mon 08:00-08:00", "closes before it opens"),
            ("Mon 0800", "is not a stretch of hours"),
            ("Mon 08:00-12:00,11:59-13:00", "overlapping hours"),
            ("Mon-Fri 08:00-12:00; Wed 11:00-14:00", "overlapping hours"),
        ];
        for (text, problem) in cases {
            let err = SendWindow::parse(text).unwrap_err();
            assert!(err.contains(problem), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_stretch_includes_its_opening_minute_and_excludes_its_closing_minute() {
        let window = SendWindow::parse("Mon 08:00-21:00; Tue 00:00-24:00").unwrap();
        let cases = [
            (Weekday::Monday, time(7, 59, 59, 0), false),
            (Weekday::Monday, time(8, 0, 0, 0), true),
            (Weekday::Monday, time(20, 59, 59, 0), true),
            (Weekday::Monday, time(21, 0, 0, 0), false),
            (Weekday::Tuesday, time(0, 0, 0, 0), true),
            (Weekday::Tuesday, time(23, 59, 59, 0), true),
            (Weekday::Wednesday, time(12, 0, 0, 0), false),
        ];
        for (day, at, inside) in cases {
            assert_eq!(window.contains(day, at), inside, "{day:?} {at}");
        }
    }
}
