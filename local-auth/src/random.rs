//! Random values: session ids, keys and generated identifiers, all from the operating
//! system's generator via aws-lc-rs.

/// The system random generator failed; nothing sensible can continue without it.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| RandomError)?;
    Ok(buf)
}

/// A random string of `len` characters from the base64url alphabet (6 bits each), safe
/// in cookies, URLs and headers without escaping.
pub fn url_safe_string(len: usize) -> Result<String, RandomError> {
    let mut raw = vec![0u8; len.div_ceil(4) * 3];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| RandomError)?;
    let mut s = alb_token::encode_segment_unpadded(&raw);
    s.truncate(len);
    Ok(s)
}

/// A random string of `len` characters from `[a-z0-9]`, the alphabet of Cognito app
/// client ids.
pub fn lowercase_alphanumeric(len: usize) -> Result<String, RandomError> {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| RandomError)?;
    // 256 is not a multiple of 36, so this is very slightly biased; it names a dev
    // client, it is not a secret.
    Ok(raw
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

/// `n` random bytes as lowercase hex.
pub fn hex(n: usize) -> Result<String, RandomError> {
    let mut raw = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut raw).map_err(|_| RandomError)?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_have_the_requested_length_and_alphabet() {
        for len in [0, 1, 26, 43, 5000] {
            let s = url_safe_string(len).unwrap();
            assert_eq!(s.len(), len);
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{s}"
            );
        }
        let id = lowercase_alphanumeric(26).unwrap();
        assert_eq!(id.len(), 26);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_eq!(hex(8).unwrap().len(), 16);
    }

    #[test]
    fn two_draws_differ() {
        assert_ne!(bytes::<32>().unwrap(), bytes::<32>().unwrap());
        assert_ne!(url_safe_string(43).unwrap(), url_safe_string(43).unwrap());
    }
}
