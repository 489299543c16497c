//! Exact one-sided bounds on an error rate: Clopper–Pearson (1934), the interval R's
//! `binom.test` reports, found as the root of the binomial tail written as the regularized
//! incomplete beta function `I_p(a, b)` (continued fraction, DLMF 8.17.22). The beta
//! function's prefactor is taken in Loader's (2000) deviance form, as R's `dbinom` does, so
//! it stays accurate for millions of calls where `ln Γ` differences would cancel.

/// The smallest error rate consistent with `errors` of `calls` at error probability `alpha`:
/// the rate `p` where P(X ≥ errors | calls, p) = alpha. 0 when there is nothing to bound.
pub fn lower_bound(errors: u64, calls: u64, alpha: f64) -> f64 {
    let k = errors.min(calls);
    if k == 0 {
        return 0.0;
    }
    if k == calls {
        return (alpha.ln() / calls as f64).exp(); // closed form: p^n = alpha
    }
    let (a, b) = (k as f64, (calls - k + 1) as f64);
    solve(|p| incomplete_beta(a, b, p).0 - alpha)
}

/// The largest error rate consistent with `errors` of `calls` at error probability `alpha`:
/// the rate `p` where P(X ≤ errors | calls, p) = alpha. 1 when there is nothing to bound.
pub fn upper_bound(errors: u64, calls: u64, alpha: f64) -> f64 {
    let k = errors.min(calls);
    if k == calls {
        return 1.0;
    }
    if k == 0 {
        return -(alpha.ln() / calls as f64).exp_m1(); // closed form: (1 - p)^n = alpha
    }
    let (a, b) = (k as f64 + 1.0, (calls - k) as f64);
    solve(|p| alpha - incomplete_beta(a, b, p).1)
}

/// The root in (0, 1) of an increasing `f`, by bisection over the bit patterns of positive
/// f64s (ordered like their values): no derivative, no divergence, and at most 64 steps to
/// the two adjacent floats around the root, whether it is 0.3 or 1e-12.
fn solve(f: impl Fn(f64) -> f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64.to_bits(), 1.0_f64.to_bits());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if f(f64::from_bits(mid)) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    f64::from_bits(hi)
}

/// `(I_x(a, b), 1 − I_x(a, b))`, each accurate where it is small; `a, b > 0`, `0 < x < 1`.
fn incomplete_beta(a: f64, b: f64, x: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if x >= 1.0 {
        return (1.0, 0.0);
    }
    let s = a + b;
    // ln( x^a (1-x)^b / B(a, b) ), without subtracting large ln Γ values.
    let ln_front = -deviance(a, x * s) - deviance(b, (1.0 - x) * s)
        + 0.5 * (a * b / (std::f64::consts::TAU * s)).ln()
        + stirling_error(s)
        - stirling_error(a)
        - stirling_error(b);
    let front = ln_front.exp();
    if x < (a + 1.0) / (s + 2.0) {
        let lower = (front * continued_fraction(a, b, x, 1.0 - x) / a).min(1.0);
        (lower, 1.0 - lower)
    } else {
        let upper = (front * continued_fraction(b, a, 1.0 - x, x) / b).min(1.0);
        (1.0 - upper, upper)
    }
}

/// The continued fraction of `I_x(a, b)` (modified Lentz), fast for `x < (a+1)/(a+b+2)`;
/// `y` is `1 − x`, given exactly by the caller.
fn continued_fraction(a: f64, b: f64, x: f64, y: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    // 1 − (a+b)x/(a+1), written through y when x ≈ 1 so it does not cancel.
    let first = if x < 0.5 {
        1.0 - (a + b) * x / (a + 1.0)
    } else {
        (1.0 - b + (a + b) * y) / (a + 1.0)
    };
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(first);
    let mut h = d;
    for m in 1..=100_000 {
        let m = m as f64;
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / nonzero(1.0 + even * d);
        c = nonzero(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / nonzero(1.0 + odd * d);
        c = nonzero(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// `k ln(k/m) + m − k` ≥ 0, computed without cancellation when `k ≈ m` (Loader's `bd0`).
fn deviance(k: f64, m: f64) -> f64 {
    if (k - m).abs() < 0.1 * (k + m) {
        let v = (k - m) / (k + m);
        let mut sum = (k - m) * v;
        let mut term = 2.0 * k * v;
        for j in 1..1000 {
            term *= v * v;
            let next = sum + term / (2 * j + 1) as f64;
            if next == sum {
                break;
            }
            sum = next;
        }
        sum
    } else {
        k * (k / m).ln() + m - k
    }
}

/// `ln Γ(z) − ((z − ½) ln z − z + ½ ln 2π)`, the error of Stirling's formula, for `z > 0`.
fn stirling_error(z: f64) -> f64 {
    if z >= 15.0 {
        let r = 1.0 / (z * z);
        (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r / 1680.0))) / z
    } else {
        // Γ(z) = Γ(z + 1) / z, rewritten for the error term.
        stirling_error(z + 1.0) + (z + 0.5) * (1.0 / z).ln_1p() - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Within `digits` significant digits of `want`.
    fn agrees(got: f64, want: f64, digits: i32) {
        let tolerance = 0.5 * 10f64.powi(1 - digits) * want;
        assert!((got - want).abs() <= tolerance, "got {got}, want {want}");
    }

    /// As R prints it: 7 significant digits.
    fn close(got: f64, want: f64) {
        agrees(got, want, 7);
    }

    // R's binom.test prints two-sided intervals: each end is a one-sided bound at half the
    // leftover probability (95 % → alpha 0.025; 90 % → alpha 0.05). Values as R prints them,
    // from R's documentation and published worked examples; re-derived to 15 digits with
    // mpmath at 50 digits by /work/scratch/cp_mpmath.py.
    #[test]
    fn matches_r_binom_test_for_mendels_peas() {
        // ?binom.test: binom.test(682, 925, p = 3/4) → 0.7076683 0.7654066
        close(lower_bound(682, 925, 0.025), 0.7076683);
        close(upper_bound(682, 925, 0.025), 0.7654066);
    }

    #[test]
    fn matches_r_binom_test_for_published_examples() {
        // binom.test(9, 24, 1/6) → 95 percent CI 0.1879929 0.5940636
        close(lower_bound(9, 24, 0.025), 0.1879929);
        close(upper_bound(9, 24, 0.025), 0.5940636);
        // binom.test(1, 1497, 0.0033, conf.level = 0.9) → 3.426347e-05 3.164954e-03
        close(lower_bound(1, 1497, 0.05), 3.426347e-05);
        close(upper_bound(1, 1497, 0.05), 3.164954e-03);
        // binom.test(542, 3611, conf.level = .90) → 0.1403939 0.1602214
        close(lower_bound(542, 3611, 0.05), 0.1403939);
        close(upper_bound(542, 3611, 0.05), 0.1602214);
    }

    #[test]
    fn matches_the_closed_forms_at_the_edges() {
        // Rule of three: 0 of 100 → one-sided 95 % upper bound 1 − 0.05^(1/100) ≈ 3/100.
        agrees(upper_bound(0, 100, 0.05), 0.0295130496070399, 13);
        // 1 of 3 → 1 − 0.975^(1/3) (binom.test(1, 3) prints 0.008403759).
        agrees(lower_bound(1, 3, 0.025), 0.00840375865961264, 13);
        agrees(lower_bound(10, 10, 0.025), 0.025_f64.powf(0.1), 13);
        assert_eq!(lower_bound(0, 10, 0.05), 0.0);
        assert_eq!(upper_bound(10, 10, 0.05), 1.0);
    }

    #[test]
    fn stays_accurate_for_millions_of_calls() {
        // (errors, calls, alpha, lower, upper, digits): exact binomial tail sums at 60 digits
        // (cp_mpmath.py). Small counts out of huge ones lose a few digits in the upper bound.
        let cases = [
            (
                1200,
                1_000_000,
                0.025,
                0.00113309428618551,
                0.00126982119070989,
                12,
            ),
            (
                1,
                1_000_000,
                0.025,
                2.53178076637942e-8,
                5.57163065517224e-6,
                11,
            ),
            (
                300,
                100_000,
                5e-5,
                0.00237344434396319,
                0.00373122290696172,
                13,
            ),
            (
                5,
                100_000_000,
                0.025,
                1.62348640940961e-8,
                1.16683316902811e-7,
                10,
            ),
            (
                10,
                1_000_000_000,
                0.025,
                4.79538870621381e-9,
                1.8390355964867e-8,
                8,
            ),
        ];
        for (errors, calls, alpha, lower, upper, digits) in cases {
            agrees(lower_bound(errors, calls, alpha), lower, digits);
            agrees(upper_bound(errors, calls, alpha), upper, digits);
        }
    }

    #[test]
    fn nothing_observed_bounds_nothing() {
        assert_eq!(lower_bound(0, 0, 0.05), 0.0);
        assert_eq!(upper_bound(0, 0, 0.05), 1.0);
        assert_eq!(lower_bound(7, 0, 0.05), 0.0);
    }

    proptest! {
        #[test]
        fn bounds_bracket_the_observed_rate(calls in 1u64..5_000_000, e in 0.0..1.0f64, alpha in 1e-6..0.5f64) {
            let errors = (e * calls as f64) as u64;
            let (lo, hi) = (lower_bound(errors, calls, alpha), upper_bound(errors, calls, alpha));
            let rate = errors as f64 / calls as f64;
            prop_assert!(lo.is_finite() && hi.is_finite());
            prop_assert!(0.0 <= lo && lo <= rate && rate <= hi && hi <= 1.0, "{lo} {rate} {hi}");
        }

        #[test]
        fn more_errors_raise_both_bounds(calls in 2u64..2_000_000, e in 0.0..1.0f64, alpha in 1e-6..0.5f64) {
            let errors = ((e * calls as f64) as u64).min(calls - 1);
            prop_assert!(lower_bound(errors + 1, calls, alpha) > lower_bound(errors, calls, alpha));
            prop_assert!(upper_bound(errors + 1, calls, alpha) > upper_bound(errors, calls, alpha));
        }

        #[test]
        fn mirrors_errors_and_successes(calls in 1u64..1_000_000, e in 0.0..1.0f64, alpha in 1e-4..0.5f64) {
            let errors = (e * calls as f64) as u64;
            let mirrored = 1.0 - upper_bound(calls - errors, calls, alpha);
            prop_assert!((lower_bound(errors, calls, alpha) - mirrored).abs() < 1e-12);
        }

        #[test]
        fn any_counts_give_finite_bounds(errors: u64, calls: u64, alpha in 1e-12..0.5f64) {
            let (lo, hi) = (lower_bound(errors, calls, alpha), upper_bound(errors, calls, alpha));
            prop_assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi) && lo <= hi);
        }
    }
}
