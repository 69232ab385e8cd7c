"""The suite's own order (tests/conftest.py): modules with the most slow tests first, each module
whole, and no two tests with one node id (xdist's loadscope would run only one of them)."""

from __future__ import annotations

import pytest

_CONFTEST = "from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n"


def _collected(pytester: pytest.Pytester) -> list[str]:
    ran = pytester.runpytest_inprocess("--co", "-q", "-p", "no:cacheprovider")
    return [line for line in ran.outlines if "::" in line]


def test_modules_with_more_slow_tests_come_first_and_stay_whole(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(_CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n")
    pytester.makepyfile(
        test_a="def test_one(): pass\ndef test_two(): pass\n",
        test_b="import pytest\n@pytest.mark.slow\ndef test_one(): pass\ndef test_two(): pass\n",
        test_c="import pytest\npytestmark = pytest.mark.slow\n"
        "def test_one(): pass\ndef test_two(): pass\n",
    )
    assert _collected(pytester) == [
        "test_c.py::test_one", "test_c.py::test_two",  # two slow tests
        "test_b.py::test_one", "test_b.py::test_two",  # one, and its module stays whole
        "test_a.py::test_one", "test_a.py::test_two",  # none: collection order
    ]  # fmt: skip


def test_tests_that_share_a_node_id_get_their_full_names(pytester: pytest.Pytester) -> None:
    """As schemathesis 4 makes them under pytest 9: items named apart, with one id."""
    pytester.makeconftest(
        _CONFTEST + "import pytest\n"
        "class Twin(pytest.Function):\n"
        "    pass\n"
        "def pytest_pycollect_makeitem(collector, name, obj):\n"
        "    if name == 'test_twins':\n"
        "        return [Twin.from_parent(collector, name=f'{name}[{n}]', callobj=obj,\n"
        "                                 originalname=name) for n in ('GET', 'POST')]\n"
    )
    pytester.makepyfile(test_twins="def test_twins(): pass\n")
    twins = ["test_twins.py::test_twins[GET]", "test_twins.py::test_twins[POST]"]
    assert _collected(pytester) == twins
