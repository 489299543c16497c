//! The AWS conventions of the `rollout` command as a user meets them: `--profile` and
//! `--region` like the AWS CLI, errors that name their cause and fix, `--output json`, `-q`,
//! and shell completions.

use std::path::PathBuf;
use std::process::Command;

use rollout_testkit::fixture::{binary, rollout_cli, rollout_command, stdout_json};

use crate::Setup;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A private AWS config and credentials file pair, as `aws configure --profile` writes them.
struct AwsFiles {
    dir: PathBuf,
}

impl AwsFiles {
    fn new(name: &str, config: &str, credentials: &str) -> AwsFiles {
        let dir = std::env::temp_dir().join(format!("rollout-aws-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("credentials"), credentials).unwrap();
        AwsFiles { dir }
    }

    /// The command with only these files to go by: no region or credentials from the
    /// environment (the endpoint stays ministack's).
    fn apply(&self, mut command: Command) -> Command {
        for name in [
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ] {
            command.env_remove(name);
        }
        command
            .env("AWS_CONFIG_FILE", self.dir.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir.join("credentials"));
        command
    }
}

impl Drop for AwsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const STATUS: &[&str] = &["status", "--function", "orders", "--alias", "live"];

#[tokio::test]
async fn a_named_profile_alone_gives_the_region_and_the_credentials() {
    let s = Setup::new("orders").await;
    let files = AwsFiles::new(
        "profile",
        &format!("[profile ops]\nregion = {}\n", rollout_testkit::REGION),
        "[ops]\naws_access_key_id = test\naws_secret_access_key = test\n",
    );
    // Without the profile there is no region: refused before any call, naming the fix.
    let out = files
        .apply(rollout_command(&s.stack, STATUS))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no AWS region is configured; pass --region"),
        "{}",
        text(&out.stderr)
    );
    let mut with_profile = STATUS.to_vec();
    with_profile.extend(["--profile", "ops"]);
    let out = files
        .apply(rollout_command(&s.stack, &with_profile))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("orders:live → version 1"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test]
async fn without_credentials_the_error_says_where_to_put_them_and_the_profile_fixes_it() {
    let s = Setup::new("orders").await;
    let files = AwsFiles::new(
        "creds",
        "[profile ops]\n",
        "[ops]\naws_access_key_id = test\naws_secret_access_key = test\n",
    );
    let mut command = files.apply(rollout_command(&s.stack, STATUS));
    command.env("AWS_REGION", rollout_testkit::REGION);
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let error = text(&out.stderr);
    assert!(
        error.contains("no usable AWS credentials") && error.contains("--profile"),
        "{error}"
    );
    let mut command = files.apply(rollout_command(&s.stack, STATUS));
    command
        .env("AWS_REGION", rollout_testkit::REGION)
        .args(["--profile", "ops"]);
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// ministack keeps each region's functions apart, as AWS does: the same alias read in
/// another region is not there.
#[tokio::test]
async fn the_region_flag_wins_over_aws_region_and_the_profile() {
    let s = Setup::new("orders").await;
    let mut elsewhere = STATUS.to_vec();
    elsewhere.extend(["--region", "eu-west-2"]);
    let out = rollout_cli(&s.stack, &elsewhere);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--function: function orders does not exist"),
        "{}",
        text(&out.stderr)
    );
    // A profile in another region, overridden on the command line.
    let files = AwsFiles::new(
        "region",
        "[profile ops]\nregion = eu-west-2\n",
        "[ops]\naws_access_key_id = test\naws_secret_access_key = test\n",
    );
    let mut here = STATUS.to_vec();
    here.extend(["--profile", "ops", "--region", rollout_testkit::REGION]);
    let out = files
        .apply(rollout_command(&s.stack, &here))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[tokio::test]
async fn abort_with_output_json_prints_what_it_did() {
    let s = Setup::new("orders").await;
    let spec = s.spec("orders", "Canary10Percent5Minutes");
    s.start(&spec, crate::t0()).await.expect("start");
    let out = rollout_cli(
        &s.stack,
        &[
            "abort",
            "--function",
            "orders",
            "--alias",
            "live",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stopped = stdout_json(&out);
    assert_eq!(stopped["restoredVersion"], "1");
    assert_eq!(stopped["stoppedVersion"], "2");
    assert_eq!(stopped["functionName"], "orders");
    assert_eq!(s.world.alias("orders").await.version, "1");
}

#[tokio::test]
async fn quiet_run_prints_only_how_it_ended() {
    let s = Setup::new("orders").await;
    let out = rollout_cli(
        &s.stack,
        &[
            "-q",
            "run",
            "--function",
            "orders",
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "50%:1s",
            "--poll",
            "1s",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("Succeeded: promoted version 2"),
        "{lines:?}"
    );
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    assert_eq!(s.world.alias("orders").await.version, "2");
}

/// The command alone, with no AWS around it.
fn rollout(args: &[&str]) -> Command {
    let mut command = Command::new(binary("rollout"));
    command.args(args).env_remove("RUST_LOG");
    command
}

#[test]
fn no_region_anywhere_is_refused_before_any_call_naming_the_fix() {
    let files = AwsFiles::new("noregion", "", "");
    let out = files
        .apply(rollout(&[
            "abort",
            "--function",
            "orders",
            "--alias",
            "live",
        ]))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let error = stdout_json(&out);
    assert_eq!(error["exitCode"], 1);
    let message = error["error"].as_str().unwrap();
    for fix in ["--region", "AWS_REGION", "aws configure"] {
        assert!(message.contains(fix), "{message}");
    }
    assert!(text(&out.stderr).starts_with("error: no AWS region"));
}

#[test]
fn an_unreachable_endpoint_is_named_with_why() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let out = rollout(&["status", "--function", "orders", "--alias", "live"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let error = text(&out.stderr);
    assert!(
        error.contains(&format!(
            "could not connect to {endpoint}: connection refused"
        )),
        "{error}"
    );
}

#[test]
fn invalid_input_with_output_json_is_a_json_error_naming_the_flag() {
    let out = rollout(&[
        "run",
        "--function",
        "orders",
        "--alias",
        "live",
        "--to",
        "two",
        "--output",
        "json",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let error = stdout_json(&out);
    assert_eq!(error["field"], "--to");
    assert_eq!(error["exitCode"], 2);
}

#[test]
fn bash_completions_know_every_command_and_the_global_flags() {
    let out = rollout(&["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let script = text(&out.stdout);
    assert!(script.contains("complete -F _rollout"), "{script}");
    for word in [
        "plan",
        "run",
        "check",
        "status",
        "abort",
        "--region",
        "--profile",
    ] {
        assert!(script.contains(word), "{word} missing");
    }
}

/// A flag clap itself refuses (a typo, one missing, a value not allowed) is an error like any
/// other: with `--output json` (in either spelling, anywhere) stdout is the one error
/// document naming the flag, exit 2; clap's own message with its tip stays on stderr.
#[test]
fn a_flag_refused_by_the_parser_is_a_json_error_too_with_output_json() {
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &[
                "status",
                "--function",
                "orders",
                "--alias",
                "live",
                "--region",
                "",
                "--output",
                "json",
            ],
            "--region",
            "a value is required for '--region <REGION>'",
        ),
        (
            &[
                "status",
                "--function",
                "orders",
                "--alais",
                "live",
                "--output",
                "json",
            ],
            "--alais",
            "unexpected argument '--alais'",
        ),
        (
            &["--output=json", "pause", "--function", "orders"],
            "--alias",
            "required arguments were not provided: --alias",
        ),
        (
            &["--output", "json", "completions", "tcsh"],
            "<SHELL>",
            "[possible values: bash, elvish, fish, powershell, zsh]",
        ),
    ];
    for (args, field, says) in cases {
        let out = rollout(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let error = stdout_json(&out);
        assert_eq!(error["field"], field, "{args:?}");
        assert_eq!(error["exitCode"], 2, "{args:?}");
        let message = error["error"].as_str().unwrap();
        assert!(message.contains(says), "{args:?}: {message}");
    }
    // Without --output json, stdout stays empty: clap's message is on stderr only.
    let out = rollout(&["status", "--function", "orders", "--alais", "live"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("a similar argument exists: '--alias'"));
}

/// `rollout completions bash | head -1`: a reader that stops early is not a crash.
#[test]
fn completions_into_a_closed_pipe_end_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = rollout(&["completions", "bash"])
        .stdout(writer)
        .output()
        .unwrap();
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `--profile` wins over keys exported in the shell, as with the AWS CLI: a profile that does
/// not exist is an error, not a silent run with whatever account the exported keys are for.
#[tokio::test]
async fn a_named_profile_wins_over_exported_keys_and_a_missing_one_is_refused() {
    let s = Setup::new("orders").await;
    let files = AwsFiles::new(
        "exported",
        &format!("[profile ops]\nregion = {}\n", rollout_testkit::REGION),
        "[ops]\naws_access_key_id = test\naws_secret_access_key = test\n",
    );
    let with = |profile: &str| {
        let mut args = STATUS.to_vec();
        args.extend(["--profile", profile]);
        // The fixture's environment keeps AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
        rollout_command(&s.stack, &args)
            .env("AWS_CONFIG_FILE", files.dir.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", files.dir.join("credentials"))
            .output()
            .unwrap()
    };
    let out = with("opps");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let error = text(&out.stderr);
    assert!(
        error.contains("no usable AWS credentials") && error.contains("--profile"),
        "{error}"
    );
    let out = with("ops");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// A function or an alias that is not there is named as the flag that gave it, in text and
/// in the JSON error, and told apart: a missing function is not called a missing alias.
#[tokio::test]
async fn a_missing_function_or_alias_is_named_by_its_flag() {
    let s = Setup::new("orders").await;
    for (function, alias, flag, said) in [
        ("nofn", "live", "--function", "function nofn does not exist"),
        (
            "orders",
            "nope",
            "--alias",
            "alias nope of function orders does not exist",
        ),
    ] {
        let out = rollout_cli(
            &s.stack,
            &[
                "status",
                "--function",
                function,
                "--alias",
                alias,
                "--output",
                "json",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let error = stdout_json(&out);
        assert_eq!(error["field"], flag, "{error}");
        assert!(error["error"].as_str().unwrap().contains(said), "{error}");
    }
}
