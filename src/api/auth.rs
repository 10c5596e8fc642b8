//! Bearer-token authentication of the API: tokens come from the configuration, each with a name
//! that the request's log span carries (never the token). `/healthz` stays open. Tokens are
//! compared as SHA-256 digests in constant time, so neither a token's content nor its length shows
//! in how long a refusal takes.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};

/// The shortest token accepted in the configuration.
pub const MIN_TOKEN_LEN: usize = 16;

/// The configured tokens; none means the API is open (the service warns at start).
#[derive(Clone, Default)]
pub struct Tokens {
    digests: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for Tokens {
    // Names only: the digests are as good as the tokens for an offline guess.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.digests.iter().map(|(name, _)| name)).finish()
    }
}

impl Tokens {
    /// From `(name, token)` pairs; refuses short tokens and empty names.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Self, String> {
        let mut digests = Vec::new();
        for (name, token) in pairs {
            if name.is_empty() || token.len() < MIN_TOKEN_LEN {
                return Err(format!("API token `{name}` must have a name and at least {MIN_TOKEN_LEN} characters"));
            }
            digests.push((name, digest(&token)));
        }
        Ok(Self { digests })
    }

    /// True when requests must carry a token.
    pub fn required(&self) -> bool {
        !self.digests.is_empty()
    }

    /// The name of the token `presented` is, if any. Every token is compared, match or not.
    pub fn check(&self, presented: &str) -> Option<&str> {
        let presented = digest(presented);
        let mut found = None;
        for (name, expected) in &self.digests {
            if bool::from(expected.ct_eq(&presented)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Lets a request through when it carries a configured token (or none are configured).
pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.tokens.required() || request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(presented) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return ApiError::Unauthorized("send `Authorization: Bearer <token>`".into()).into_response();
    };
    match state.tokens.check(presented.trim()) {
        Some(name) => {
            tracing::Span::current().record("client", name);
            next.run(request).await
        }
        None => ApiError::Unauthorized("the bearer token is not valid".into()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_by_name_and_short_ones_are_refused() {
        let tokens = Tokens::new([("ci".to_owned(), "0123456789abcdef".to_owned()), ("ops".to_owned(), "fedcba9876543210xx".to_owned())]).unwrap();
        assert_eq!(tokens.check("fedcba9876543210xx"), Some("ops"));
        assert_eq!(tokens.check("0123456789abcdef"), Some("ci"));
        assert_eq!(tokens.check("0123456789abcde"), None);
        assert!(!format!("{tokens:?}").contains("0123"));
        assert!(Tokens::new([("short".to_owned(), "abc".to_owned())]).is_err());
        assert!(!Tokens::default().required());
    }
}
