//! Reading a server's token from a file or the environment.

use std::path::Path;

/// The token in `path` (surrounding whitespace dropped), or else in the environment variable
/// `var`; `None` if neither is given.
pub fn read(path: Option<&Path>, var: &str) -> Result<Option<String>, String> {
    let token = match path {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
            String::from_utf8(bytes)
                .map_err(|_| format!("the token file `{}` is not UTF-8", path.display()))?
        }
        None => match std::env::var(var) {
            Ok(token) => token,
            Err(_) => return Ok(None),
        },
    };
    let token = token.trim();
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err("a token is one word of visible ASCII characters".into());
    }
    Ok(Some(token.to_owned()))
}
