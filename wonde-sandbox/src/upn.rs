//! The DfE Unique Pupil Number: a check letter and 12 digits (LA code,
//! establishment number, year of allocation, serial).

/// The check letters, indexed by the weighted sum modulo 23 (no I, O or S).
const LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// The check letter for the 12 digits that follow it, or `None` when they
/// are not 12 ASCII digits. Each digit is weighted by its position (2 to 13).
pub fn check_letter(digits: &str) -> Option<char> {
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| (b - b'0') as u32 * (i as u32 + 2))
        .sum();
    Some(LETTERS[(sum % 23) as usize] as char)
}

/// Whether `upn` is a well-formed UPN with the right check letter (what the
/// tests check every generated UPN against).
#[cfg(test)]
pub fn is_valid(upn: &str) -> bool {
    let upn = upn.trim();
    upn.len() == 13 && upn.is_char_boundary(1) && check_letter(&upn[1..]) == upn.chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_check_letter_is_invalid() {
        let digits = "820200114001";
        let good = format!("{}{digits}", check_letter(digits).unwrap());
        assert!(is_valid(&good));
        let bad_letter = if good.starts_with('A') { 'B' } else { 'A' };
        assert!(!is_valid(&format!("{bad_letter}{digits}")));
        assert!(!is_valid("A12345"));
    }

    #[test]
    fn weights_follow_the_dfe_scheme() {
        // 12 zeros sum to 0: letter A. A single 1 in the last place weighs 13: letter P.
        assert_eq!(check_letter("000000000000"), Some('A'));
        assert_eq!(check_letter("000000000001"), Some('P'));
    }
}
