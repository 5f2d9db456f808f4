"""Every number the report states must come from a results file the report cites.

Reads BENCHMARKS.md and README.md. Two rules:

1. **Included tables are copies.** A table or block between
   `<!-- results: NAME table N -->` (or `block N`, a fenced block) and
   `<!-- end results -->` must equal the N-th table (block) of
   `benchmarks/results/NAME`, line for line; `--write` re-renders every
   such copy from its file.
2. **Every other number is held by a cited file.** A `##` or `###` heading
   starts a section; its sources are the results files it names
   (`results/x.json`, `benchmarks/results/x.{json,md}`, or `x.md` in
   backticks) and those its `##` parent names. Each number written outside
   an included table must be held by one of them at the precision it is
   written with, in its unit: 88.5% by 0.8852, 88.5 or by a ratio of 1.885;
   0.54x by 0.54; 1.7 GB by 1,724 (MB); 2 min 17 s by 137.4 (seconds).

Not numbers of a result, so not checked: code (fenced blocks and `inline`),
link and image targets, headings, dates, commit hashes, version numbers,
integers up to 10 (counts: "3 of 3 seeds", "T = 4", "2 cores"), and the
settings in PARAMETERS, each with the reason it is one.

    python -m benchmarks.report_check            # exit 1, listing each problem, if any
    python -m benchmarks.report_check --write    # re-render the included tables first
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import sys
from typing import Dict, Iterable, List, Set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")
REPORTS = ("BENCHMARKS.md", "README.md")

# Numbers the report writes that are settings or data facts, not measured results.
PARAMETERS = {
    "90%": "the band's nominal coverage",
    "95%": "the band's upper quantile (5-95%)",
    "85-95%": "the overall coverage the sequences issue asks for",
    "80%": "the per-group coverage the sequences issue asks for",
    "0.5x": "the per-core read rate the sequences issue asks for",
    "0.9x": "the serving throughput asked for",
    "1.15x": "the LCD training speed-up asked for",
    "0.5": "LCD's first training period",
    "1.5": "an LCD training period",
    "3.5": "an LCD training period",
    "4.5": "LCD's last training period",
    "100": "trajectories a request or an eval example draws",
    "25": "LCD's steps, ART's and the read benchmark's sequence length",
    "24": "hours in an ItalyPowerDemand day; GiB of RAM",
    "50": "Fast Weights units; the smallest calibration group",
    "65": "the paper's LCD epochs",
    "128": "the LSTM's units; the batch size",
    "200": "the paper's ART epochs",
    "1,096": "ItalyPowerDemand's days",
    "640": "JapaneseVowels' utterances",
    "29": "JapaneseVowels' longest utterance, in frames",
    "27": "speaker-seed slices: 9 speakers x 3 seeds",
    "64": "the sequences task's LSTM units",
    "40": "the sequences task's teacher-forced epochs",
    "5,000": "the paper's LCD training sequences",
    "2,000": "the paper's LCD eval sequences",
    "100,000": "ART's training queries; rows in one chunk",
    "20,000": "ART's eval queries",
    "400,000": "series in the 10-million-row CSV",
    "10,000": "series per block of the read benchmark's CSV",
}

_CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_INCLUDED = re.compile(
    r"<!-- results: ([\w.\-]+) (table|block) (\d+) -->\n(.*?)<!-- end results -->\n", re.S
)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_VERSION = re.compile(
    r"\b\d+\.\d+\.\d+\b|\b[vV]\d+(\.\d+)*\b"
    r"|\b(?:Python|TFX|TensorFlow|Keras|Beam|TFMA|arXiv|kfp|pandas|NumPy) [\d.]+\d"
    r"|[<>]=? ?\d+(?:\.\d+)+"
)
_HASH = re.compile(r"\b(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")
_SOURCE = re.compile(
    r"(?:benchmarks/)?results/([\w.\-]+(?:\{[\w,]+\})?)"
    r"|`([\w.\-]+\.(?:json|md)|[\w.\-]+\.\{[\w,]+\})`"
    r"|<!-- results: ([\w.\-]+) "
)
_DURATION = re.compile(r"(\d+) h (\d+) min|(\d+) min (\d+) s|(\d+) min\b")
_RANGE = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)-(\d[\d,]*(?:\.\d+)?)(%|x\b| ?MB\b| ?GB\b)")
_NUMBER = re.compile(
    r"(?<![\w.])[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+−]?\d+)?"
    r"(?:%|x\b| ?(?:MB|GB|ms|s)\b)?"
)


@dataclasses.dataclass(frozen=True)
class Number:
    text: str  # as written
    value: float
    decimals: int  # digits after the point (scientific: of the mantissa)
    scientific: bool
    unit: str  # "", "%", "x", "MB", "GB", "s", "ms"
    line: int


@dataclasses.dataclass
class Section:
    heading: str
    line: int
    text: str
    sources: Set[str]


# --- rule 1: included tables -------------------------------------------------


def tables(name: str, kind: str) -> List[str]:
    """The results file's markdown tables (`table`) or fenced blocks (`block`), in order."""
    text = open(os.path.join(RESULTS, name)).read()
    if kind == "block":
        return [m.group(0) + "\n" for m in _CODE_BLOCK.finditer(text)]
    found, current = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def render(text: str) -> str:
    """`text` with every included table replaced by its file's current one."""

    def copy(match):
        name, kind, number, _ = match.groups()
        table = _included(name, kind, int(number))
        return f"<!-- results: {name} {kind} {number} -->\n{table}<!-- end results -->\n"

    return _INCLUDED.sub(copy, text)


def _included(name: str, kind: str, number: int) -> str:
    if not os.path.exists(os.path.join(RESULTS, name)):
        raise ValueError(f"benchmarks/results/{name} does not exist")
    found = tables(name, kind)
    if not 1 <= number <= len(found):
        raise ValueError(f"benchmarks/results/{name} has {len(found)} {kind}s, not {number}")
    return found[number - 1]


def stale_tables(report: str) -> List[str]:
    """A message per included table that differs from its file (or cannot be found)."""
    text = open(os.path.join(ROOT, report)).read()
    problems = []
    for match in _INCLUDED.finditer(text):
        name, kind, number, body = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        try:
            if body != _included(name, kind, int(number)):
                problems.append(
                    f"{report}:{line}: the copy of {name} {kind} {number} differs from the file "
                    "(python -m benchmarks.report_check --write re-renders it)"
                )
        except ValueError as error:
            problems.append(f"{report}:{line}: {error}")
    return problems


# --- rule 2: every other number ----------------------------------------------


def sections(text: str) -> List[Section]:
    """The text's sections, each with the sources it and its `##` parent name."""
    lines = text.splitlines(keepends=True)
    found: List[Section] = []
    parent: Set[str] = set()
    start, heading, level = 0, "(top)", 1
    fenced = False
    for index in range(len(lines) + 1):
        line = lines[index] if index < len(lines) else "## (end)"
        if line.startswith("```"):
            fenced = not fenced
        match = re.match(r"(#{1,3}) ", line)
        if not match or fenced:
            continue
        own = _sources("".join(lines[start:index]))
        if level <= 2:
            parent = own
        found.append(Section(heading, start + 1, "".join(lines[start:index]), own | parent))
        start, heading, level = index, line.strip(), len(match.group(1))
    return found


def _sources(text: str) -> Set[str]:
    names = set()
    for groups in _SOURCE.findall(text):
        name = next(g for g in groups if g)
        brace = re.match(r"(.*)\{([\w,]+)\}(.*)", name)
        options = brace.group(2).split(",") if brace else [""]
        for option in options:
            full = f"{brace.group(1)}{option}{brace.group(3)}" if brace else name
            full = full.rstrip(".,")
            if os.path.exists(os.path.join(RESULTS, full)):
                names.add(full)
    return names


def _blank(pattern: re.Pattern, text: str) -> str:
    """`text` with each match replaced by spaces, so line numbers stay."""
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def numbers(text: str, first_line: int = 1) -> List[Number]:
    """The result numbers written in `text`, with what is not one blanked out."""
    for pattern in (_INCLUDED, _CODE_BLOCK, _COMMENT, _INLINE_CODE, _LINK_TARGET):
        text = _blank(pattern, text)
    for pattern in (_DATE, _VERSION, _HASH, re.compile(r"^#+ .*$", re.M)):
        text = _blank(pattern, text)
    found = []
    line_of = lambda match: first_line + text.count("\n", 0, match.start())  # noqa: E731
    for match in _DURATION.finditer(text):
        hours, minutes, mins, secs, only_min = match.groups()
        if hours:
            seconds, decimals = int(hours) * 3600 + int(minutes) * 60, -2
        elif mins:
            seconds, decimals = int(mins) * 60 + int(secs), 0
        else:
            seconds, decimals = int(only_min) * 60, -2
        found.append(Number(match.group(0), float(seconds), decimals, False, "s", line_of(match)))
    text = _blank(_DURATION, text)
    # A range's unit belongs to both ends: "88.5-91.2%" is 88.5% and 91.2%.
    text = _RANGE.sub(lambda m: f"{m[1]}{m[3]} {m[2]}{m[3]}", text)  # same lines, longer
    for match in _NUMBER.finditer(text):
        written = match.group(0)
        if written.lstrip("+-−") in PARAMETERS:
            continue
        unit = re.search(r"(%|x|MB|GB|ms|s)$", written)
        plain = re.sub(r" ?(%|x|MB|GB|ms|s)$", "", written).replace(",", "").replace("−", "-")
        value = float(plain)
        if "e" not in plain and "." not in plain and abs(value) <= 10 and value == int(value):
            continue
        mantissa = plain.split("e")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        found.append(
            Number(
                written,
                value,
                decimals,
                "e" in plain,
                unit.group(1) if unit else "",
                line_of(match),
            )
        )
    return found


def source_values(name: str) -> List[float]:
    """Every number a results file holds: JSON values and keys, or numbers in its text."""
    path = os.path.join(RESULTS, name)
    if name.endswith(".json"):
        values: List[float] = []
        _walk(json.load(open(path)), values)
        return values
    text = open(path).read().replace(",", "")
    return [float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def _walk(node, values: List[float]) -> None:
    if isinstance(node, bool):
        return
    if isinstance(node, (int, float)):
        if math.isfinite(node):
            values.append(float(node))
    elif isinstance(node, dict):
        for key, child in node.items():
            _walk(key, values)
            _walk(child, values)
    elif isinstance(node, (list, tuple)):
        for child in node:
            _walk(child, values)
    elif isinstance(node, str):  # keys and labels: "seed=0", "period=1.5"
        values.extend(float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", node))


def readings(value: float, unit: str) -> Iterable[float]:
    """How the report may write a stored number in `unit`."""
    if unit == "%":  # a percentage, a fraction, or a ratio's change
        return (value, value * 100, (value - 1) * 100)
    if unit == "MB":  # MB, or bytes
        return (value, value / 2**20)
    if unit == "GB":  # MB, bytes, or GB
        return (value / 1024, value / 2**30, value)
    if unit == "ms":  # milliseconds, or seconds
        return (value, value * 1000)
    return (value,)


def held(number: Number, values: Iterable[float]) -> bool:
    target = abs(number.value)
    for value in values:
        for stored in readings(value, number.unit):
            stored = abs(stored)
            if number.scientific:
                if stored and _same_scientific(stored, target, number.decimals):
                    return True
            elif abs(stored - target) <= 0.5 * 10 ** (-number.decimals) * (1 + 1e-9) + 1e-12:
                return True
    return False


def _same_scientific(stored: float, target: float, decimals: int) -> bool:
    scale = 10.0 ** math.floor(math.log10(target)) if target else 1.0
    return abs(stored / scale - target / scale) <= 0.5 * 10 ** (-decimals) * (1 + 1e-9)


def unheld(report: str) -> List[str]:
    """A message per number of the report that no source of its section holds."""
    cache: Dict[str, List[float]] = {}
    problems = []
    for section in sections(open(os.path.join(ROOT, report)).read()):
        values: List[float] = []
        for name in sorted(section.sources):
            if name not in cache:
                cache[name] = source_values(name)
            values += cache[name]
        for number in numbers(section.text, section.line):
            if not held(number, values):
                cited = ", ".join(sorted(section.sources)) or "no results file"
                problems.append(
                    f"{report}:{number.line}: {number.text!r} is not in what "
                    f"{section.heading!r} cites ({cited})"
                )
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="*", default=list(REPORTS))
    parser.add_argument("--write", action="store_true", help="re-render the included tables")
    args = parser.parse_args(argv)
    problems = []
    for report in args.reports:
        if args.write:
            path = os.path.join(ROOT, report)
            text = open(path).read()
            rendered = render(text)
            if rendered != text:
                with open(path, "w") as f:
                    f.write(rendered)
        problems += stale_tables(report) + unheld(report)
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"{len(problems)} problems: cite the results file that holds each number, write "
            "the script that measures it (benchmarks/), or drop the number."
        )
        return 1
    print(f"every number in {' and '.join(args.reports)} comes from a cited results file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
