from mlpromote.phases.model import poll_delay


def test_first_status_check_waits_several_intervals_then_one() -> None:
    assert poll_delay(0, 30, 1800) == 120
    assert poll_delay(119, 30, 1800) == 120
    assert poll_delay(120, 30, 1800) == 30
    assert poll_delay(900, 30, 1800) == 30


def test_never_waits_past_the_cap_by_more_than_a_second() -> None:
    assert poll_delay(1790, 30, 1800) == 11
    assert poll_delay(1800, 30, 1800) == 1
