//! Which calls get which fault: the `fail` rules, each counted exactly, then
//! the seeded random mode.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Fault, Request};

/// Which calls a rule applies to: an operation, a service or any, narrowed
/// further by a body substring or a predicate. `"UpdateAlias".into()` is
/// [`Matcher::operation`].
#[derive(Clone, Default)]
pub struct Matcher {
    service: Option<String>,
    operation: Option<String>,
    body: Option<String>,
    predicate: Option<Predicate>,
}

type Predicate = Arc<dyn Fn(&Request) -> bool + Send + Sync>;

impl Matcher {
    pub fn any() -> Matcher {
        Matcher::default()
    }

    pub fn operation(name: &str) -> Matcher {
        Matcher {
            operation: Some(name.to_owned()),
            ..Matcher::default()
        }
    }

    /// By signing name, e.g. `lambda`, `monitoring`, `sns`.
    pub fn service(name: &str) -> Matcher {
        Matcher {
            service: Some(name.to_owned()),
            ..Matcher::default()
        }
    }

    /// Only calls whose body contains `needle`.
    pub fn body_contains(mut self, needle: &str) -> Matcher {
        self.body = Some(needle.to_owned());
        self
    }

    /// Only calls `predicate` accepts.
    pub fn when(mut self, predicate: impl Fn(&Request) -> bool + Send + Sync + 'static) -> Matcher {
        self.predicate = Some(Arc::new(predicate));
        self
    }

    pub fn matches(&self, request: &Request) -> bool {
        self.service.as_ref().is_none_or(|s| *s == request.service)
            && self
                .operation
                .as_ref()
                .is_none_or(|o| *o == request.operation)
            && self
                .body
                .as_ref()
                .is_none_or(|b| request.body_text().contains(b.as_str()))
            && self.predicate.as_ref().is_none_or(|p| p(request))
    }
}

impl From<&str> for Matcher {
    fn from(operation: &str) -> Matcher {
        Matcher::operation(operation)
    }
}

struct Rule {
    matcher: Matcher,
    fault: Fault,
    remaining: usize,
}

/// The seeded random mode (see [`super::FaultProxy::random`]).
struct Chaos {
    rng: u64,
    rate: f64,
    faults: Vec<Fault>,
    matcher: Matcher,
    max_consecutive: Option<u32>,
    streaks: HashMap<(String, String), u32>,
}

impl Chaos {
    fn draw(&mut self, request: &Request) -> Option<Fault> {
        if self.faults.is_empty() || !self.matcher.matches(request) {
            return None;
        }
        // Two draws for every matching call, faulted or not: the stream stays
        // aligned with the calls whatever the cap and the list of faults.
        let roll = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let pick = self.next() % self.faults.len() as u64;
        let key = (request.service.clone(), request.operation.clone());
        let streak = self.streaks.entry(key).or_default();
        if roll < self.rate && self.max_consecutive.is_none_or(|cap| *streak < cap) {
            *streak += 1;
            Some(self.faults[pick as usize])
        } else {
            *streak = 0;
            None
        }
    }

    /// splitmix64
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Every rule a proxy holds.
#[derive(Default)]
pub(super) struct Rules {
    fail: Vec<Rule>,
    chaos: Option<Chaos>,
}

impl Rules {
    pub(super) fn fail(&mut self, matcher: Matcher, fault: Fault, times: usize) {
        self.fail.push(Rule {
            matcher,
            fault,
            remaining: times,
        });
    }

    pub(super) fn random(
        &mut self,
        seed: u64,
        rate: f64,
        faults: &[Fault],
        matcher: Matcher,
        max_consecutive: Option<u32>,
    ) {
        self.chaos = Some(Chaos {
            rng: seed,
            rate,
            faults: faults.to_vec(),
            matcher,
            max_consecutive,
            streaks: HashMap::new(),
        });
    }

    pub(super) fn clear(&mut self) {
        *self = Rules::default();
    }

    /// The fault for this call: the first `fail` rule with calls left, else
    /// the random mode's draw.
    pub(super) fn pick(&mut self, request: &Request) -> Option<Fault> {
        let ruled = self
            .fail
            .iter_mut()
            .find(|rule| rule.remaining > 0 && rule.matcher.matches(request));
        match ruled {
            Some(rule) => {
                rule.remaining -= 1;
                Some(rule.fault)
            }
            None => self.chaos.as_mut().and_then(|chaos| chaos.draw(request)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::{cbor_call, get_alias, parse, update_alias};
    use super::*;

    #[test]
    fn faults_only_the_calls_the_matcher_selects_as_often_as_asked() {
        let mut rules = Rules::default();
        // A rollback routes no traffic to the new version.
        let rollback =
            Matcher::operation("UpdateAlias").body_contains(r#""AdditionalVersionWeights":{}"#);
        rules.fail(rollback, Fault::Throttle, 2);
        let set_state = Matcher::service("monitoring").when(|r| r.operation == "SetAlarmState");
        rules.fail(set_state, Fault::Drop, 1);

        let (shift, back) = (
            parse(&update_alias(r#"{"8":0.1}"#)),
            parse(&update_alias("{}")),
        );
        assert_eq!(rules.pick(&shift), None);
        assert_eq!(rules.pick(&parse(&cbor_call("DescribeAlarms"))), None);
        assert_eq!(
            rules.pick(&parse(&cbor_call("SetAlarmState"))),
            Some(Fault::Drop)
        );
        assert_eq!(rules.pick(&parse(&cbor_call("SetAlarmState"))), None);
        let backs = [rules.pick(&back), rules.pick(&back), rules.pick(&back)];
        assert_eq!(backs, [Some(Fault::Throttle), Some(Fault::Throttle), None]);
        rules.fail(Matcher::any(), Fault::LoseAnswer, 1);
        rules.clear();
        assert_eq!(rules.pick(&back), None);
    }

    fn random_run(seed: u64, rate: f64, max_consecutive: Option<u32>) -> Vec<Option<Fault>> {
        let mut rules = Rules::default();
        let faults = [Fault::Throttle, Fault::ServerError(503)];
        rules.random(
            seed,
            rate,
            &faults,
            Matcher::service("lambda"),
            max_consecutive,
        );
        let call = parse(&get_alias());
        (0..60).map(|_| rules.pick(&call)).collect()
    }

    #[test]
    fn seeded_random_faults_repeat_for_the_same_seed() {
        let flaky = random_run(7, 0.3, Some(2));
        assert_eq!(flaky, random_run(7, 0.3, Some(2)));
        assert_ne!(flaky, random_run(8, 0.3, Some(2)));
        let faulted = flaky.iter().filter(|f| f.is_some()).count();
        assert!((6..=30).contains(&faulted), "{faulted} of 60");
        assert!(flaky.contains(&Some(Fault::Throttle)));
        assert!(flaky.contains(&Some(Fault::ServerError(503))));
        let capped = flaky.windows(3).all(|w| w.contains(&None));
        assert!(capped, "at most 2 in a row: {flaky:?}");

        let outage = random_run(7, 1.0, None);
        assert!(outage.iter().all(Option::is_some));
        assert!(random_run(7, 0.0, None).iter().all(Option::is_none));
    }
}
