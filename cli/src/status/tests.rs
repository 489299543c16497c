use super::*;

#[test]
fn a_watched_line_shows_who_paused_and_why_with_escapes_made_visible() {
    let m = Marker::parse(
        "lambda-rollout id=r-20261123T130000000Z from=1 to=2 step=0 w=10 status=InProgress \
         op=paused by=ops%1B%5B31m why=see%E2%80%AEgol%0Aforged",
    )
    .unwrap();
    let text = watched(&m);
    assert!(
        text.ends_with("paused by ops\\u001b[31m: see\\u202egol\\u000aforged"),
        "{text}"
    );
}

#[test]
fn a_watch_judges_a_rollout_from_the_future_from_now_never_after_it() {
    let now: DateTime<Utc> = "2026-11-23T15:00:00Z".parse().unwrap();
    assert_eq!(judged_since("r-20990101T000000000Z", now), now);
    assert_eq!(
        judged_since("r-20261123T145000000Z", now),
        "2026-11-23T14:50:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        judged_since("r-20261123T010000000Z", now),
        now - chrono::Duration::minutes(15),
        "the last quarter of an hour of a long one"
    );
}
