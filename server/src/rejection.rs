//! The error vocabulary of the endpoint: one variant per row of the vendor
//! document (S2–S11) plus the answers this project decided for what the
//! document leaves open. `http` renders each variant; nothing else decides
//! status codes or bodies.

/// Why a request did not change the password.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// S2: 400 `wrong_old_password`.
    WrongOldPassword,
    /// S3: 400 `duplicate_password`.
    DuplicatePassword,
    /// S4: 400 `recurrent_password`.
    RecurrentPassword,
    /// S5: 400 `invalid_new_password`.
    InvalidNewPassword,
    /// S6: 400 `user_not_found`.
    UserNotFound,
    /// S7: 400 `abnormal_user_status`, "User is frozen."
    UserFrozen,
    /// S8: 400 `abnormal_user_status`, "User is locked."
    UserLocked,
    /// S9: 400 with the `invalid_request` bearer challenge, no body.
    MissingToken,
    /// S10: 401 with the `invalid_token` bearer challenge, no body.
    InvalidToken,
    /// S11: 403 with the `insufficient_scope` bearer challenge, no body.
    InsufficientScope,
    /// Decided: 400 `invalid_request` with a description (bad JSON or members).
    InvalidBody(&'static str),
    /// Decided: 415 `invalid_request` (Content-Type is not JSON).
    UnsupportedMediaType,
    /// Decided: 413 `invalid_request` (body over the configured limit).
    PayloadTooLarge,
    /// Decided: 408 `invalid_request` (body not received in time).
    BodyTimeout,
    /// Decided: 404 `not_found`.
    NotFound,
    /// Decided: 405 `method_not_allowed` with `Allow`.
    MethodNotAllowed(&'static str),
    /// Decided: 503 `temporarily_unavailable` with `Retry-After`.
    Overloaded,
    /// A fault of the server (corrupt store, I/O): 500 `server_error`.
    Internal,
}

impl Rejection {
    /// A stable name for logs: the vendor's error code where it names the
    /// case alone, a more precise name where one code covers several (S7
    /// and S8, S9's `invalid_request` and the decided `invalid_request`s).
    pub fn code(&self) -> &'static str {
        use Rejection::*;
        match self {
            WrongOldPassword => "wrong_old_password",
            DuplicatePassword => "duplicate_password",
            RecurrentPassword => "recurrent_password",
            InvalidNewPassword => "invalid_new_password",
            UserNotFound => "user_not_found",
            UserFrozen => "user_frozen",
            UserLocked => "user_locked",
            MissingToken => "missing_token",
            InvalidToken => "invalid_token",
            InsufficientScope => "insufficient_scope",
            InvalidBody(_) => "invalid_body",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge => "payload_too_large",
            BodyTimeout => "body_timeout",
            NotFound => "not_found",
            MethodNotAllowed(_) => "method_not_allowed",
            Overloaded => "overloaded",
            Internal => "server_error",
        }
    }
}
