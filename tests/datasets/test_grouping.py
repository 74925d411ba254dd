"""group_keys: group keys from file names, by pattern or by runs of file numbers."""

from __future__ import annotations

import re

import pytest

from autolearn.datasets.grouping import GroupingError, describe_groups, group_keys

MEALTRAY_STYLE = "20220308112654_000042_059_0000000001_B______xx_C ({}).jpg"


def test_pattern_takes_the_first_capture_group() -> None:
    names = ["20220308112654_1.jpg", "20220308112654_2.jpg", "20220308184105_1.jpg"]
    assert group_keys(names, "pattern", r"^(\d{14})_") == [
        "20220308112654",
        "20220308112654",
        "20220308184105",
    ]


def test_pattern_without_a_group_uses_the_whole_match() -> None:
    names = ["tray12-a.jpg", "tray12-b.jpg", "tray7-a.jpg"]
    assert group_keys(names, "pattern", r"tray\d+") == ["tray12", "tray12", "tray7"]


def test_unmatched_names_get_a_group_of_their_own() -> None:
    names = ["cam1_a.jpg", "README-shot.jpg", "cam1_b.jpg", "README-shot.jpg"]
    keys = group_keys(names, "pattern", r"^(cam\d+)_")
    assert keys[0] == keys[2] == "cam1"
    assert keys[1].startswith("unmatched:") and keys[3].startswith("unmatched:")
    assert len({keys[0], keys[1], keys[3]}) == 3  # even a repeated name is not grouped
    assert describe_groups(keys) == {"groups": 3, "largest": 2, "unmatched": 2}


def test_pattern_matching_nothing_is_an_error() -> None:
    with pytest.raises(
        GroupingError, match=re.escape(r"'^(\d{14})_' matches none of the 2 names (first: 'a.jpg')")
    ):
        group_keys(["a.jpg", "b.jpg"], "pattern", r"^(\d{14})_")


@pytest.mark.parametrize("method", ["pattern", "runs"])
def test_invalid_regex_names_the_pattern(method: str) -> None:
    with pytest.raises(GroupingError, match=re.escape(r"'(\d+' is not a valid regular expression")):
        group_keys(["a (1).jpg"], method, r"(\d+")  # type: ignore[arg-type]


def test_runs_of_consecutive_numbers_with_spaces_and_parentheses() -> None:
    numbers = [1537, 1538, 1539, 1541, 2735, 2736, 2747, 2752, 2753]
    names = [MEALTRAY_STYLE.format(n) for n in reversed(numbers)]  # order does not matter
    keys = dict(zip(reversed(numbers), group_keys(names, "runs", r"\((\d+)\)"), strict=True))
    assert keys == {
        1537: "run-1537",
        1538: "run-1537",
        1539: "run-1537",
        1541: "run-1541",  # gap of 2 > max_gap 1
        2735: "run-2735",
        2736: "run-2735",
        2747: "run-2747",
        2752: "run-2752",
        2753: "run-2752",
    }


def test_runs_max_gap_bridges_small_gaps() -> None:
    names = [f"img_{n}.png" for n in (1, 2, 4, 7, 20, 21)]
    assert group_keys(names, "runs", r"_(\d+)\.png$", max_gap=3) == [
        "run-1",
        "run-1",
        "run-1",
        "run-1",
        "run-20",
        "run-20",
    ]
    assert len(set(group_keys(names, "runs", r"_(\d+)\.png$"))) == 4


def test_runs_equal_numbers_share_a_run() -> None:
    names = ["a/shot (5).jpg", "b/shot (5).jpg", "a/shot (9).jpg"]
    assert group_keys(names, "runs", r"\((\d+)\)") == ["run-5", "run-5", "run-9"]


def test_runs_need_a_capture_group() -> None:
    with pytest.raises(GroupingError, match=re.escape(r"'\d+' has no capture group")):
        group_keys(["a (1).jpg"], "runs", r"\d+")


def test_runs_name_without_a_number_is_named() -> None:
    names = ["x (1).jpg", "x (2).jpg", "notes.jpg", "other.jpg"]
    with pytest.raises(GroupingError, match=r"finds no number in 'notes\.jpg' \(no match\)"):
        group_keys(names, "runs", r"\((\d+)\)")


def test_runs_capture_that_is_not_a_number() -> None:
    with pytest.raises(GroupingError, match=r"'x \(ab\)\.jpg' \(captured 'ab'\)"):
        group_keys(["x (ab).jpg"], "runs", r"\((\w+)\)")


def test_bad_arguments() -> None:
    with pytest.raises(GroupingError, match="max_gap must be at least 1"):
        group_keys(["a (1).jpg"], "runs", r"\((\d+)\)", max_gap=0)
    with pytest.raises(GroupingError, match="unknown grouping method 'hash'"):
        group_keys(["a"], "hash", "a")  # type: ignore[arg-type]
    with pytest.raises(GroupingError, match="empty"):
        group_keys(["a"], "pattern", "")
    assert group_keys([], "runs", r"\((\d+)\)") == []
    assert group_keys([], "pattern", "x") == []
