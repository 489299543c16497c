use super::*;
use proptest::prelude::*;

fn weights(plan: &Plan) -> Vec<f64> {
    plan.steps.iter().map(|s| s.weight).collect()
}

fn holds(plan: &Plan) -> Vec<u64> {
    plan.steps.iter().map(|s| s.hold_seconds).collect()
}

fn problem(strategy: &str) -> String {
    let err = Plan::parse(strategy, 0).expect_err(strategy);
    assert_eq!(err.input, strategy);
    assert!(
        err.to_string().contains(&format!("{strategy:?}")),
        "quotes input"
    );
    err.problem
}

#[test]
fn canary_10_percent_5_minutes_is_10_then_100() {
    let plan = Plan::parse("LambdaCanary10Percent5Minutes", 0).unwrap();
    assert_eq!(weights(&plan), [0.1, 1.0]);
    assert_eq!(holds(&plan), [300, 0]);
}

#[test]
fn linear_10_percent_every_minute_is_nine_steps_then_100() {
    let plan = Plan::parse("CodeDeployDefault.LambdaLinear10PercentEvery1Minute", 0).unwrap();
    assert_eq!(
        weights(&plan),
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    );
    assert_eq!(plan.total_seconds(), 9 * 60);
}

#[test]
fn all_at_once_is_a_single_full_step() {
    for name in [
        "AllAtOnce",
        "LambdaAllAtOnce",
        "CodeDeployDefault.LambdaAllAtOnce",
    ] {
        let plan = Plan::parse(name, 0).unwrap();
        assert_eq!(
            plan.steps,
            [Step {
                weight: 1.0,
                hold_seconds: 0
            }]
        );
    }
}

#[test]
fn every_predefined_config_parses_with_codedeploy_totals() {
    let predefined = [
        ("Canary10Percent5Minutes", 5),
        ("Canary10Percent10Minutes", 10),
        ("Canary10Percent15Minutes", 15),
        ("Canary10Percent30Minutes", 30),
        ("Linear10PercentEvery1Minute", 9),
        ("Linear10PercentEvery2Minutes", 18),
        ("Linear10PercentEvery3Minutes", 27),
        ("Linear10PercentEvery10Minutes", 90),
        ("AllAtOnce", 0),
    ];
    for (short, minutes) in predefined {
        for name in [
            short.to_string(),
            format!("Lambda{short}"),
            format!("CodeDeployDefault.Lambda{short}"),
        ] {
            let plan = Plan::parse(&name, 0).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(plan.total_seconds(), minutes * 60, "{name}");
            assert_eq!(plan.steps.last().unwrap().weight, 1.0);
        }
    }
}

#[test]
fn general_forms_accept_minute_or_minutes() {
    let plan = Plan::parse("Canary25Percent1Minute", 0).unwrap();
    assert_eq!(weights(&plan), [0.25, 1.0]);
    let plan = Plan::parse("Linear30PercentEvery2880Minutes", 0).unwrap();
    assert_eq!(weights(&plan), [0.3, 0.6, 0.9, 1.0]);
    assert_eq!(holds(&plan), [172_800, 172_800, 172_800, 0]);
}

#[test]
fn custom_list_keeps_weights_and_holds_then_promotes() {
    let plan = Plan::parse("1%:1m,5%:2m,25%:5m,50%:5m", 0).unwrap();
    assert_eq!(weights(&plan), [0.01, 0.05, 0.25, 0.5, 1.0]);
    assert_eq!(holds(&plan), [60, 120, 300, 300, 0]);
    let plan = Plan::parse("0.5%:30s, 12.25%:1h", 0).unwrap();
    assert_eq!(weights(&plan), [0.005, 0.1225, 1.0]);
    assert_eq!(holds(&plan), [30, 3600, 0]);
}

#[test]
fn bake_time_is_the_hold_of_the_final_step() {
    let plan = Plan::parse("Canary10Percent5Minutes", 600).unwrap();
    assert_eq!(
        plan.steps.last(),
        Some(&Step {
            weight: 1.0,
            hold_seconds: 600
        })
    );
    assert_eq!(plan.total_seconds(), 900);
}

#[test]
fn weights_have_no_float_noise() {
    let plan = Plan::parse("Linear10PercentEvery1Minute", 0).unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    assert!(json.contains("\"weight\":0.3,"), "{json}");
    assert!(!json.contains("0000000"), "{json}");
}

#[test]
fn plan_json_has_the_documented_shape() {
    let plan = Plan::parse("Canary10Percent5Minutes", 0).unwrap();
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"strategy": "Canary10Percent5Minutes", "steps": [
            {"weight": 0.1, "holdSeconds": 300}, {"weight": 1.0, "holdSeconds": 0}]})
    );
}

#[test]
fn refuses_zero_or_full_percent() {
    assert!(problem("Canary0Percent5Minutes").contains("1..=99"));
    assert!(problem("Canary100Percent5Minutes").contains("1..=99"));
    assert!(problem("Linear0PercentEvery1Minute").contains("1..=99"));
}

#[test]
fn refuses_zero_or_too_many_minutes() {
    assert!(problem("Canary10Percent0Minutes").contains("1..=2880"));
    assert!(problem("Linear10PercentEvery2881Minutes").contains("1..=2880"));
}

#[test]
fn refuses_weights_not_increasing() {
    assert!(problem("5%:1m,5%:1m").contains("greater"));
    assert!(problem("10%:1m,5%:1m").contains("greater"));
}

#[test]
fn refuses_custom_weights_outside_zero_and_hundred() {
    assert!(problem("0%:1m").contains("above 0%"));
    assert!(problem("50%:1m,100%:1m").contains("below 100%"));
}

#[test]
fn refuses_bad_units_and_shapes() {
    assert!(problem("5%:1x").contains("duration"));
    assert!(problem("5%:10").contains("duration") || problem("5%:10").contains("unit"));
    assert!(problem("5%").contains("W%:HOLD"));
    assert!(problem("5:1m,10%:1m").contains("percentage"));
    assert!(problem("5%:49h").contains("at most"));
    assert!(problem("Canary10Percent5Hours").contains("Minute"));
    assert!(problem("canary10percent5minutes").contains("not a known"));
    assert!(problem("CodeDeployDefault.AllAtOnce").contains("Lambda"));
}

#[test]
fn refuses_empty() {
    assert!(problem("").contains("empty"));
    assert!(problem("  ").contains("empty"));
}

#[test]
fn formats_percentages_for_people() {
    assert_eq!(format_percent(0.1), "10%");
    assert_eq!(format_percent(0.055), "5.5%");
    assert_eq!(format_percent(0.0125), "1.25%");
    assert_eq!(format_percent(1.0), "100%");
}

fn any_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..=99, 1u32..=2880).prop_map(|(p, n)| format!("Canary{p}Percent{n}Minutes")),
        (1u32..=99, 1u32..=2880).prop_map(|(p, n)| format!("Linear{p}PercentEvery{n}Minutes")),
        proptest::collection::btree_set(1u32..=9999, 1..12)
            .prop_flat_map(|ws| {
                let n = ws.len();
                (Just(ws), proptest::collection::vec(0u64..=3600, n))
            })
            .prop_map(|(ws, hs)| {
                ws.iter()
                    .zip(hs)
                    .map(|(w, h)| format!("{}.{:02}%:{h}s", w / 100, w % 100))
                    .collect::<Vec<_>>()
                    .join(",")
            }),
    ]
}

proptest! {
    #[test]
    fn plans_increase_strictly_within_zero_one_and_end_at_one(
        strategy in any_strategy(), bake in 0u64..=86_400
    ) {
        let plan = Plan::parse(&strategy, bake).unwrap();
        let ws = weights(&plan);
        prop_assert!(ws.windows(2).all(|w| w[0] < w[1]), "{ws:?}");
        prop_assert!(ws.iter().all(|w| *w > 0.0 && *w <= 1.0));
        prop_assert_eq!(*ws.last().unwrap(), 1.0);
        prop_assert_eq!(plan.steps.last().unwrap().hold_seconds, bake);
        prop_assert!(ws.iter().all(|w| round_weight(*w) == *w), "no noise: {ws:?}");
        prop_assert_eq!(plan.total_seconds(), holds(&plan).iter().sum::<u64>());
    }

    #[test]
    fn canary_and_linear_last_as_long_as_codedeploy_says(p in 1u32..=99, n in 1u32..=2880) {
        let canary = Plan::parse(&format!("Canary{p}Percent{n}Minutes"), 0).unwrap();
        prop_assert_eq!(canary.total_seconds(), u64::from(n) * 60);
        let linear = Plan::parse(&format!("Linear{p}PercentEvery{n}Minutes"), 0).unwrap();
        let increments = u64::from(100u32.div_ceil(p)) - 1;
        prop_assert_eq!(linear.total_seconds(), increments * u64::from(n) * 60);
        prop_assert_eq!(linear.steps.len() as u64, increments + 1);
    }

    #[test]
    fn garbage_never_panics_and_always_quotes_input(s in "\\PC{0,40}") {
        if let Err(e) = Plan::parse(&s, 0) {
            prop_assert_eq!(e.input, s);
        }
    }
}
