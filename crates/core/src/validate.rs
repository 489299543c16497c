//! Bad input, named: the error every layer uses for a field that is missing or wrong, and the
//! one check for each kind of name AWS takes (function, alias, version, SNS topic ARN).

/// A field of the input that is missing or wrong, and what is allowed instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidField {
    pub field: &'static str,
    pub problem: String,
}

impl InvalidField {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        InvalidField {
            field,
            problem: problem.into(),
        }
    }
}

/// `arn:aws:lambda:us-east-1:123:function:orders` → `orders`; a plain name is returned as is.
pub fn short_function_name(name_or_arn: &str) -> &str {
    match name_or_arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        _ => name_or_arn,
    }
}

pub fn check_function_name(name: &str) -> Result<(), InvalidField> {
    if name.starts_with("arn:") && name.split(':').count() != 7 {
        return Err(InvalidField::new(
            "functionName",
            format!(
                "{name:?} must be an unqualified function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME); the alias is given on its own"
            ),
        ));
    }
    let short = short_function_name(name);
    let valid = !short.is_empty()
        && short.len() <= 64
        && short
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid && name.len() <= 140 {
        Ok(())
    } else {
        Err(InvalidField::new(
            "functionName",
            format!(
                "{name:?} must be a function name (letters, digits, - and _, up to 64) or its ARN"
            ),
        ))
    }
}

pub fn check_alias(alias: &str) -> Result<(), InvalidField> {
    let valid = !alias.is_empty()
        && alias.len() <= 128
        && !alias.bytes().all(|b| b.is_ascii_digit())
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(InvalidField::new(
            "alias",
            format!("{alias:?} must be an alias name (letters, digits, - and _, not only digits)"),
        ))
    }
}

pub fn check_version(field: &'static str, version: &str) -> Result<(), InvalidField> {
    let valid =
        !version.is_empty() && version.len() <= 10 && version.bytes().all(|b| b.is_ascii_digit());
    // Lambda numbers versions from 1, without leading zeros ("02" names no version).
    if valid && !version.starts_with('0') {
        Ok(())
    } else {
        Err(InvalidField::new(
            field,
            format!("{version:?} must be a published version number like \"7\" (not $LATEST)"),
        ))
    }
}

/// A published version number (`"7"`), not `$LATEST` or an alias.
pub fn is_published_version(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

/// A version as JSON gives it: `"7"` or `7` mean the same published version.
pub fn version_from_json(value: &serde_json::Value) -> Result<String, String> {
    match value {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        other => Err(format!(
            "{other} must be a published version number like \"7\""
        )),
    }
}

/// An SNS topic ARN, `arn:PARTITION:sns:REGION:ACCOUNT:NAME`; `field` names where it came
/// from (`notificationTopicArn`, `NOTIFICATION_TOPIC_ARN`, `--topic`).
pub fn check_topic_arn(field: &'static str, arn: &str) -> Result<(), InvalidField> {
    let parts: Vec<&str> = arn.split(':').collect();
    let valid = matches!(parts.as_slice(),
        ["arn", partition, "sns", region, account, name]
            if !partition.is_empty() && !region.is_empty() && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty());
    if valid {
        Ok(())
    } else {
        Err(InvalidField::new(
            field,
            format!("{arn:?} must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_arn_is_checked_the_same_way_everywhere() {
        assert!(check_topic_arn("t", "arn:aws:sns:us-east-1:000000000000:rollouts").is_ok());
        for bad in [
            "rollouts",
            "arn:aws:sns:us-east-1:rollouts",
            "arn:aws:sqs:us-east-1:000000000000:q",
            "arn:aws:sns:us-east-1:12:rollouts",
        ] {
            assert_eq!(check_topic_arn("t", bad).unwrap_err().field, "t", "{bad}");
        }
    }

    #[test]
    fn a_qualified_arn_or_a_padded_version_is_refused_before_aws() {
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:orders";
        assert!(check_function_name(arn).is_ok());
        assert!(check_function_name(&format!("{arn}:live")).is_err());
        assert!(check_version("targetVersion", "12").is_ok());
        for bad in ["02", "0", "", "$LATEST"] {
            assert!(check_version("targetVersion", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_may_be_strings_or_numbers() {
        assert_eq!(version_from_json(&serde_json::json!(7)).unwrap(), "7");
        assert_eq!(version_from_json(&serde_json::json!("7")).unwrap(), "7");
        assert!(version_from_json(&serde_json::json!(7.5)).is_err());
    }
}
