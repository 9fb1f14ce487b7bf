//! Where recordings live: `DATA_DIR/recordings/<yyyy>/<mm>/<dd>/<session-id>.log` (UTC date of the session
//! start). Date directories keep directory sizes small and make retention a matter of deleting old days.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_model::SessionId;

/// The path of the first segment of a session's recording.
pub fn recording_path(data_dir: &Path, session: SessionId, started: SystemTime) -> PathBuf {
    let secs = match started.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    data_dir
        .join("recordings")
        .join(format!("{y:04}"))
        .join(format!("{m:02}"))
        .join(format!("{d:02}"))
        .join(format!("{session}.log"))
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_783), (2026, 11, 26));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn recording_path_is_grouped_by_utc_day() {
        let id = SessionId::new();
        // 2026-11-26T23:59:59Z
        let t = UNIX_EPOCH + Duration::from_secs(20_783 * 86_400 + 86_399);
        let p = recording_path(Path::new("/data"), id, t);
        assert_eq!(p, PathBuf::from(format!("/data/recordings/2026/11/26/{id}.log")));
    }
}
