use super::*;

#[test]
fn reads_only_its_own_settings() {
    let get = |name: &str| match name {
        "SMOKE_TEST_EXPECT" => Some("{not json".to_string()),
        "BAKE_SECONDS" => Some("ten".to_string()),
        _ => None,
    };
    assert_eq!(
        AlarmRollbackSettings::from_lookup(&get).unwrap(),
        AlarmRollbackSettings::default()
    );
}

#[test]
fn parses_the_guards_tag() {
    assert_eq!(
        parse_guards_tag("orders:live, billing:prod,broken"),
        [
            ("orders".to_string(), Some("live".to_string())),
            ("billing".to_string(), Some("prod".to_string()))
        ]
    );
    // As a tag value can hold it: spaces.
    assert_eq!(
        parse_guards_tag("orders:live  billing:prod"),
        parse_guards_tag("orders:live,billing:prod")
    );
}
