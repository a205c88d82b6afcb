"""The demo marking schemes in fixtures/schemes: complete, clean, and up to date with build.py."""

import importlib.util
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from scoring.cis_xlsx import read_scheme, write_scheme
from scoring.scheme_data import SchemeData, usable_for_marking

SCHEMES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "schemes"
REQUIRED = [
    "skill_23_mobile_robotics.xlsx",
    "skill_34_cooking.xlsx",
    "skill_40_graphic_design.xlsx",
]


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("schemes_build", SCHEMES_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


BUILD = load_build()
FILES = sorted(BUILD.SCHEMES)


def test_the_three_required_skills_and_only_built_files_are_present() -> None:
    assert set(REQUIRED) <= set(FILES)
    assert sorted(path.name for path in SCHEMES_DIR.glob("*.xlsx")) == FILES


@pytest.mark.parametrize("name", FILES)
def test_demo_scheme_reads_without_errors_or_warnings_and_totals_100(name: str) -> None:
    result = read_scheme(SCHEMES_DIR / name)
    assert result.problems == []
    assert result.scheme is not None
    assert result.scheme.total() == Decimal(100)
    assert usable_for_marking(result.scheme)


@pytest.mark.parametrize("name", FILES)
def test_committed_file_is_what_build_py_makes(name: str) -> None:
    assert read_scheme(SCHEMES_DIR / name).scheme == BUILD.SCHEMES[name], (
        "Run: python fixtures/schemes/build.py"
    )


@pytest.mark.parametrize("name", FILES)
def test_demo_scheme_has_the_shape_of_a_real_competition(name: str) -> None:
    scheme: SchemeData = BUILD.SCHEMES[name]
    assert 5 <= len(scheme.criteria) <= 7
    assert 40 <= len(scheme.aspects) <= 90
    subs_per_criterion = Counter(sub.criterion for sub in scheme.sub_criteria)
    assert all(subs_per_criterion[c.code] >= 1 for c in scheme.criteria)
    assert sum(count >= 2 for count in subs_per_criterion.values()) >= len(scheme.criteria) - 1
    kinds = scheme.counts_by_kind()
    assert kinds["M"] >= 20 and kinds["J"] >= 8
    calculations = {a.calculation.kind for a in scheme.aspects if a.calculation is not None}
    assert calculations == {"pass_fail", "deduction", "number_completed", "choice"}
    for aspect in scheme.aspects:
        if aspect.kind == "J":
            assert [d.score for d in aspect.descriptors] == [0, 1, 2, 3]
            assert all(len(d.text) > 10 for d in aspect.descriptors)
        assert aspect.max_mark is not None and Decimal("0.25") <= aspect.max_mark <= 6
    assert len({a.description for a in scheme.aspects if a.kind == "M"}) > 0.9 * kinds["M"]


@pytest.mark.parametrize("name", FILES)
def test_demo_scheme_round_trips(name: str) -> None:
    scheme = BUILD.SCHEMES[name]
    assert read_scheme(write_scheme(scheme)).scheme == scheme
