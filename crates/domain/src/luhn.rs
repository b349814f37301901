//! The Luhn (mod 10) check used by personnummer and organisationsnummer.

/// Whether the ASCII digits in `digits` (the last one being the check digit) pass Luhn.
pub(crate) fn is_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let p = d * 2;
                if p > 9 { p - 9 } else { p }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The check digit that makes `digits` (without check digit) pass Luhn.
#[cfg(test)]
pub(crate) fn check_digit(digits: &[u8]) -> u8 {
    (0..=9u8)
        .find(|c| {
            let mut all = digits.to_vec();
            all.push(b'0' + c);
            is_valid(&all)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers_pass() {
        assert!(is_valid(b"1212121212"));
        assert!(is_valid(b"2120000142"));
        assert!(!is_valid(b"2120000143"));
    }

    #[test]
    fn check_digit_completes_the_number() {
        assert_eq!(check_digit(b"121212121"), 2);
    }
}
