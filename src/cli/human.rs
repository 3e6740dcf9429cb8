//! Values as people read them: amounts in ether, times as dates, every hash and commitment in
//! one form (`0x` and 64 hex digits). `--json` keeps wei and Unix times beside these.

use alloy::primitives::{B256, U256};

/// A 256-bit word (a commitment, a digest) as `0x` and 64 hex digits.
pub(super) fn word(v: U256) -> String {
    format!("{v:#066x}")
}

/// A 32-byte hash as `0x` and 64 hex digits.
pub(super) fn hash(v: B256) -> String {
    format!("0x{}", alloy::hex::encode(v))
}

/// An amount of wei in ether (`1.5 ether`); below a gwei, in wei.
pub(super) fn ether(wei: U256) -> String {
    if wei < U256::from(1_000_000_000u64) {
        return format!("{wei} wei");
    }
    let unit = U256::from(10u64).pow(U256::from(18u64));
    let (whole, frac) = (wei / unit, wei % unit);
    if frac.is_zero() {
        return format!("{whole} ether");
    }
    let digits = format!("{frac:0>18}");
    format!("{whole}.{} ether", digits.trim_end_matches('0'))
}

/// A Unix time as a UTC date, `2026-12-04 17:40:26 UTC`.
pub(super) fn utc(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_dates_and_hashes_read_as_people_write_them() {
        let wei = |s: &str| U256::from_str_radix(s, 10).unwrap();
        assert_eq!(ether(wei("1000000000000000000")), "1 ether");
        assert_eq!(ether(wei("1500000000000000000")), "1.5 ether");
        assert_eq!(ether(wei("10000000000000000")), "0.01 ether");
        assert_eq!(ether(wei("1000000000")), "0.000000001 ether");
        assert_eq!(ether(wei("42")), "42 wei");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_780_594_826), "2026-06-04 17:40:26 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(word(U256::from(20u64)).len(), 66);
        assert_eq!(&word(U256::from(20u64))[60..], "000014");
        assert_eq!(hash(B256::with_last_byte(1)).len(), 66);
    }
}
