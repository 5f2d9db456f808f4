"""The report check: every number in BENCHMARKS.md and README.md comes from a results file."""

import shutil

from benchmarks import report_check
from tests import ROOT


def test_every_number_in_the_reports_comes_from_a_cited_results_file(capsys):
    assert report_check.main([]) == 0, capsys.readouterr().out


def edited(tmp_path, old: str, new: str):
    copy = tmp_path / "BENCHMARKS.md"
    shutil.copy(ROOT / "BENCHMARKS.md", copy)
    text = copy.read_text()
    assert old in text
    copy.write_text(text.replace(old, new, 1))
    return str(copy)


def test_an_edited_number_in_the_text_is_reported_with_its_line(tmp_path):
    # The ART reading's "99.9% first on 2 of 3 ... (71 against zero's 64)".
    report = edited(tmp_path, "(71 against zero's 64)", "(71 against zero's 66)")
    problems = report_check.unheld(report)
    assert len(problems) == 1
    assert (
        "'66' is not in what '## ART: zero vs free vs learned initial state' cites" in problems[0]
    )


def test_an_edited_cell_of_an_included_table_is_reported_and_re_rendered(tmp_path):
    report = edited(tmp_path, "| 0.0588 / 0.0865 | -32.1% |", "| 0.0588 / 0.0865 | -31.2% |")
    problems = report_check.stale_tables(report)
    assert len(problems) == 1 and "lcd_demo.md table 1 differs from the file" in problems[0]
    rendered = report_check.render(open(report).read())
    assert rendered == (ROOT / "BENCHMARKS.md").read_text()


def number(text: str):
    (found,) = report_check.numbers(text)
    return found


def test_a_number_is_held_at_its_precision_and_in_its_unit():
    assert report_check.held(number("held 88.5% of the truth"), [0.8852])
    assert not report_check.held(number("held 88.7% of the truth"), [0.8852])
    assert report_check.held(number("CRPS -14.7% below"), [0.853])  # a ratio's change
    assert report_check.held(number("peaks at 1.7 GB"), [1724.0])  # MB
    assert not report_check.held(number("peaks at 1.8 GB"), [1724.0])
    assert report_check.held(number("took 2 min 17 s"), [137.4])  # seconds
    assert not report_check.held(number("took 2 min 19 s"), [137.4])
    assert report_check.held(number("MSE 4.92e-04"), [0.000492])
    assert not report_check.held(number("rate 0.54x"), [54.0])  # a ratio is not a percentage


def test_settings_counts_dates_and_code_are_not_results():
    text = (
        "3 of 3 seeds, T = 4, on 2026-12-05 at commit `5f51da9`, `--train epochs=20`, the 90% band"
    )
    assert report_check.numbers(text) == []


def test_an_empty_copy_is_filled_from_its_file():
    text = "before\n<!-- results: shuffle_memory.md table 1 -->\n<!-- end results -->\nafter\n"
    (table,) = report_check.tables("shuffle_memory.md", "table")
    assert table.startswith("| rows | buckets |")
    assert report_check.render(text) == (
        "before\n<!-- results: shuffle_memory.md table 1 -->\n"
        + table
        + "<!-- end results -->\nafter\n"
    )
