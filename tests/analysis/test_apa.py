"""APA strings: the paper's own numbers come out in the form the issue asks for."""
import random

from analysis.apa import apa_chi2, apa_t, fmt_num, fmt_p


def test_welch_t_in_apa_form_with_true_minus():
    assert apa_t(-0.619, 902.606, 0.536) == "t(902.61) = \u22120.62, p = .536"


def test_integer_df_and_small_p():
    assert apa_t(-11.686, 521.0, 3.5e-28) == "t(521) = \u221211.69, p < .001"


def test_chi2_with_n():
    assert apa_chi2(10.552, 1, 2520, 0.00116) == "\u03c7\u00b2(1, N = 2520) = 10.55, p = .001"


def test_p_formatting_boundaries():
    assert fmt_p(0.0009) == "p < .001" and fmt_p(0.001) == "p = .001" and fmt_p(0.0685) == "p = .069"


def test_a_value_that_rounds_to_zero_has_no_minus_sign():
    from analysis.apa import fmt_num
    assert fmt_num(-0.0004, 3) == "0.000" and fmt_num(-0.004, 2) == "0.00"
    assert fmt_num(-0.006, 2) == "\u22120.01"


def test_printed_digits_do_not_depend_on_the_order_numbers_were_added_up():
    # Twelve participants' mean ratings (k / 70 trials) whose grand mean is exactly 3.225: summed in the
    # order of one lab's participant IDs or another's, the float differs in its last bits, and the report
    # once printed 3.22 for one naming and 3.23 for the other.
    means = [k / 70 for k in (298, 179, 159, 296, 285, 153, 175, 235, 236, 244, 291, 158)]
    rng = random.Random(0)
    grand = {sum(rng.sample(means, len(means))) / len(means) for _ in range(200)}
    assert len(grand) > 1  # the orders really give different floats ...
    assert len({fmt_num(m) for m in grand}) == 1  # ... and print the same digits
    assert fmt_p(0.0009999999999999998) == fmt_p(0.0010000000000000002) == "p = .001"
