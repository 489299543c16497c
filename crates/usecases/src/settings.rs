//! Where the functions' settings come from: their environment, read once at cold start (a
//! blank variable counts as unset). Each function's settings say which variables it reads.

/// A variable of this process's environment; blank counts as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The EventBridge bus every rollout and hook event also goes to: `default`, a bus name or
/// ARN; unset or blank, none (SNS only).
pub const EVENT_BUS_VARIABLE: &str = "EVENT_BUS_NAME";

/// The bus named by [`EVENT_BUS_VARIABLE`], if any.
pub fn event_bus() -> Option<String> {
    env(EVENT_BUS_VARIABLE)
}

/// The channels besides the rollout's own SNS topic, as a process is configured: the
/// functions from their environment, the `rollout` command from its flags (which read the
/// same variables when not given). Checked once, here: a bad value fails a cold start (or
/// the command, exit 2) naming the variable, instead of losing every alert later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelSettings {
    /// `EVENT_BUS_NAME`: `default`, a bus name or ARN.
    pub event_bus: Option<String>,
    /// `CHATBOT_TOPIC_ARN`: an SNS topic AWS Chatbot (Amazon Q Developer in chat
    /// applications) subscribes to; it gets each event in Chatbot's custom format.
    pub chatbot_topic: Option<String>,
    /// `WEBHOOK_URL`: `https://…`, or `http://` to a loopback address (local tests).
    pub webhook_url: Option<String>,
    /// `WEBHOOK_SECRET_ARN`: a Secrets Manager secret whose value signs every POST.
    pub webhook_secret_arn: Option<String>,
}

pub const CHATBOT_TOPIC_VARIABLE: &str = "CHATBOT_TOPIC_ARN";
pub const WEBHOOK_URL_VARIABLE: &str = "WEBHOOK_URL";
pub const WEBHOOK_SECRET_VARIABLE: &str = "WEBHOOK_SECRET_ARN";

impl ChannelSettings {
    /// From the process's environment, checked.
    pub fn from_env() -> Result<ChannelSettings, rollout_core::InvalidField> {
        ChannelSettings {
            event_bus: env(EVENT_BUS_VARIABLE),
            chatbot_topic: env(CHATBOT_TOPIC_VARIABLE),
            webhook_url: env(WEBHOOK_URL_VARIABLE),
            webhook_secret_arn: env(WEBHOOK_SECRET_VARIABLE),
        }
        .checked([
            CHATBOT_TOPIC_VARIABLE,
            WEBHOOK_URL_VARIABLE,
            WEBHOOK_SECRET_VARIABLE,
        ])
    }

    /// Checks every value; `names` are what the chatbot topic, webhook URL and secret are
    /// called where they came from (variables, or the command's flags).
    pub fn checked(self, names: [&'static str; 3]) -> Result<Self, rollout_core::InvalidField> {
        use rollout_core::InvalidField;
        let [chatbot, url, secret] = names;
        if let Some(arn) = &self.chatbot_topic {
            rollout_core::validate::check_topic_arn(chatbot, arn)?;
        }
        if let Some(u) = &self.webhook_url {
            check_webhook_url(u).map_err(|why| InvalidField::new(url, why))?;
        }
        if let Some(arn) = &self.webhook_secret_arn {
            let parts: Vec<&str> = arn.splitn(7, ':').collect();
            let valid = matches!(parts.as_slice(),
                ["arn", p, "secretsmanager", r, a, "secret", name]
                    if !p.is_empty() && !r.is_empty() && a.len() == 12 && !name.is_empty());
            if !valid {
                return Err(InvalidField::new(
                    secret,
                    format!("{arn:?} must be a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"),
                ));
            }
            if self.webhook_url.is_none() {
                return Err(InvalidField::new(
                    secret,
                    format!("signs a webhook's POSTs, but no webhook is set ({url})"),
                ));
            }
        }
        Ok(self)
    }
}

/// A webhook URL may carry a credential (Slack's do) and is where alerts go: only `https://`,
/// or `http://` to a loopback address (`127.0.0.0/8`, `localhost`, `[::1]`) for local tests.
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    let allowed =
        "must be https://…, or http:// to a loopback address (127.0.0.1, localhost, [::1])";
    let host_of = |rest: &str| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit('@').next().unwrap_or_default();
        match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
            None => authority.split(':').next().unwrap_or_default().to_string(),
        }
    };
    if let Some(rest) = url.strip_prefix("https://") {
        return match host_of(rest).is_empty() {
            true => Err(format!("has no host; {allowed}")),
            false => Ok(()),
        };
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = host_of(rest);
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        return match loopback {
            true => Ok(()),
            false => Err(format!("is plain http to {host}; {allowed}")),
        };
    }
    Err(allowed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_is_https_or_plain_http_only_to_loopback() {
        for ok in [
            "https://hooks.slack.com/services/T0/B0/x",
            "http://127.0.0.1:8080/hook",
            "http://127.9.9.9/x",
            "http://localhost:9000",
            "http://[::1]:8080/x",
        ] {
            assert_eq!(check_webhook_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://example.com/hook",
            "http://127.0.0.1.evil.example/x",
            "http://localhost.evil.example/",
            "http://user@10.0.0.1/",
            "ftp://127.0.0.1/",
            "https://",
            "hooks.slack.com/services/x",
        ] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_channel_setting_names_where_it_came_from() {
        let bad = ChannelSettings {
            webhook_url: Some("http://example.com".into()),
            ..ChannelSettings::default()
        };
        let e = bad
            .checked(["--chatbot-topic", "--webhook", "--webhook-secret-arn"])
            .unwrap_err();
        assert_eq!(e.field, "--webhook");
        let orphan = ChannelSettings {
            webhook_secret_arn: Some(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:hook-AbCdEf".into(),
            ),
            ..ChannelSettings::default()
        };
        let e = orphan
            .checked([
                CHATBOT_TOPIC_VARIABLE,
                WEBHOOK_URL_VARIABLE,
                WEBHOOK_SECRET_VARIABLE,
            ])
            .unwrap_err();
        assert_eq!(e.field, WEBHOOK_SECRET_VARIABLE);
        let chatbot = ChannelSettings {
            chatbot_topic: Some("not-an-arn".into()),
            ..ChannelSettings::default()
        };
        assert_eq!(
            chatbot
                .checked([
                    CHATBOT_TOPIC_VARIABLE,
                    WEBHOOK_URL_VARIABLE,
                    WEBHOOK_SECRET_VARIABLE
                ])
                .unwrap_err()
                .field,
            CHATBOT_TOPIC_VARIABLE
        );
    }
}
