//! canary-judge's handler: each scheduled invocation judges every guarded alias
//! (`rollout_usecases::canary_judge`) and answers with the verdicts, or Lambda's `errorType`.

use chrono::{DateTime, Utc};
use lambda_runtime::Diagnostic;
use rollout_lambda::diagnostic;
use rollout_usecases::canary_judge::{Judge, JudgeReport, JudgeSettings};

/// One run: every alias judged and its `CanaryVerdict` published. The schedule's event
/// carries nothing the judge needs.
pub async fn judge_now(
    judge: &Judge<'_>,
    settings: &JudgeSettings,
    now: DateTime<Utc>,
) -> Result<JudgeReport, Diagnostic> {
    judge.run(settings, now).await.map_err(diagnostic)
}

#[cfg(test)]
mod tests {
    use super::*;

    use rollout_usecases::testing::{t, FakeAliases, FakeMetrics, FakeOwnMetrics};

    fn settings() -> JudgeSettings {
        JudgeSettings::from_lookup(&|name: &str| match name {
            "JUDGED_ALIASES" => Some("orders:live".to_string()),
            "ANALYSIS" => Some(r#"{"minInvocations": 50}"#.to_string()),
            _ => None,
        })
        .unwrap()
    }

    fn split_alias() -> FakeAliases {
        let aliases = FakeAliases::on("1");
        aliases.alias.lock().unwrap().routing = Some(("2".into(), 0.1));
        aliases
    }

    #[tokio::test]
    async fn a_bad_canary_is_published_as_1_and_answered() {
        let (aliases, own) = (split_alias(), FakeOwnMetrics::default());
        let metrics = FakeMetrics::counting((100, 30, None), (900, 9, None));
        let judge = Judge {
            aliases: &aliases,
            metrics: &metrics,
            own_metrics: &own,
        };
        let report = judge_now(&judge, &settings(), t(0)).await.unwrap();
        assert_eq!(report.verdicts[0].verdict, "fail");
        assert_eq!(own.values(), [1.0]);
    }

    #[tokio::test]
    async fn metrics_it_cannot_read_fail_the_invocation_as_aws_error() {
        let (aliases, own) = (split_alias(), FakeOwnMetrics::default());
        let metrics = FakeMetrics::counting((100, 30, None), (900, 9, None));
        metrics.fail(false);
        let judge = Judge {
            aliases: &aliases,
            metrics: &metrics,
            own_metrics: &own,
        };
        let failed = judge_now(&judge, &settings(), t(0)).await.unwrap_err();
        assert_eq!(failed.error_type, "AwsError");
        assert!(
            failed
                .error_message
                .contains("orders:live: the metrics could not be read"),
            "{failed:?}"
        );
    }
}
