//! The contract's input rules, checked before anything is written.
//!
//! Handlers collect every broken rule of a body into one [`Rules`] and answer a single 422
//! listing them all, rather than stopping at the first. The schema's CHECK constraints repeat
//! the important rules as a backstop, but a client deserves a message naming its field.

use crate::error::{ApiError, FieldError};

/// Collects broken rules; [`Rules::finish`] turns them into a 422.
#[derive(Debug, Default)]
pub struct Rules {
    errors: Vec<FieldError>,
}

impl Rules {
    pub fn new() -> Rules {
        Rules::default()
    }

    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// A name-like text: trimmed, then 1..=`max` characters. Returns the trimmed text.
    pub fn text(&mut self, field: impl Into<String>, value: &str, max: usize) -> String {
        let trimmed = value.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            self.fail(field, "must not be empty");
        } else if chars > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if trimmed.chars().any(char::is_control) {
            self.fail(field, "must not contain control characters");
        }
        trimmed.to_string()
    }

    /// An email address: one `@`, a non-empty local part, a domain with a dot, at most 254
    /// characters, no spaces. Returns it trimmed and lower-cased, as it is stored: lower-casing
    /// on the way in is what makes the plain unique index case-insensitive.
    pub fn email(&mut self, field: impl Into<String>, value: &str) -> String {
        let email = value.trim().to_lowercase();
        if !is_valid_email(&email) {
            self.fail(field, "must be a valid address");
        }
        email
    }

    /// A whole number within `min..=max`.
    pub fn range(&mut self, field: impl Into<String>, value: i64, min: i64, max: i64) {
        if !(min..=max).contains(&value) {
            self.fail(field, format!("must be between {min} and {max}"));
        }
    }

    /// A reference to another row: ids are positive.
    pub fn id(&mut self, field: impl Into<String>, value: i64) {
        if value < 1 {
            self.fail(field, "must be a positive id");
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok` when no rule broke, else a 422 carrying every broken rule.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Unprocessable(self.errors))
        }
    }
}

fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.chars().count() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_the_contract() {
        for good in [
            "a@b.co",
            "Alice.Nguyen@Example.com",
            "x+tag@mail.example.org",
        ] {
            let mut rules = Rules::new();
            rules.email("email", good);
            assert!(rules.is_empty(), "{good} should pass");
        }
        let too_long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@@b.co",
            "a@b@c.co",
            "a b@c.co",
            "a@.co",
            "a@co.",
            too_long.as_str(),
        ] {
            let mut rules = Rules::new();
            rules.email("email", bad);
            assert!(!rules.is_empty(), "{bad:?} should fail");
        }
    }

    #[test]
    fn emails_are_stored_lower_cased_and_trimmed() {
        assert_eq!(
            Rules::new().email("email", "  Alice@Example.COM "),
            "alice@example.com"
        );
    }

    #[test]
    fn names_are_trimmed_and_counted_in_characters() {
        let mut rules = Rules::new();
        assert_eq!(rules.text("name", "  Zoë  ", 3), "Zoë");
        assert!(rules.is_empty());
        rules.text("name", "   ", 100);
        rules.text("name", &"é".repeat(101), 100);
        assert!(
            matches!(rules.finish(), Err(ApiError::Unprocessable(errors)) if errors.len() == 2)
        );
    }
}
