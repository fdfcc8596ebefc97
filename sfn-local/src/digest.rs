//! Hex digests with the service's algorithm names, shared by `States.Hash` (JSONPath) and
//! `$hash` (JSONata).

/// Hex digest of `data` with one of the service's algorithms (`MD5`, `SHA-1`, `SHA-256`,
/// `SHA-384`, `SHA-512`); `None` for any other name.
pub(crate) fn hash(bytes: &[u8], algorithm: &str) -> Option<String> {
    use sha2::Digest;
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        _ => return None,
    };
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}
