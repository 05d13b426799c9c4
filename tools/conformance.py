"""
Run the ONNX node conformance suite; write the expected-unsupported list and docs/op-support.md.

    .venv/bin/python tools/conformance.py            # run, then write both files
    .venv/bin/python tools/conformance.py --check    # run, and say whether the files are current
    .venv/bin/python tools/conformance.py -k resize  # run the cases whose names contain 'resize'

Every case is compiled and run serially and with two lanes (`tests/conformance.py`).
A case that fails (a wrong answer, a crash) is printed and nothing is written: the
list holds only cases that the compiler reports as unsupported, with their
messages, and those must be the same in both modes.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the harness

from conformance import (
    BACKENDS,
    EXPECTED_PATH,
    Outcome,
    attributes_of,
    check_against_onnxruntime,
    node_cases,
    older_opset_cases,
    op_under_test,
    opset_of,
    read_expected,
    run_case,
    write_expected,
)

ROOT = Path(__file__).resolve().parent.parent
DOC_PATH = ROOT / "docs" / "op-support.md"

Results = dict[str, dict[str, Outcome]]
"""Case name -> mode -> outcome."""


def _run_chunk(names: Sequence[str]) -> list[tuple[str, str, Outcome]]:
    """Run some cases in every mode (in a worker process)."""
    import torch

    torch.set_num_threads(1)  # the workers share the cores
    cases = {c.name: c for c in node_cases()}
    return [(name, mode, run_case(cases[name], mode)) for name in names for mode in BACKENDS]


def run_all(names: Sequence[str], jobs: int) -> Results:
    """Every named case in every mode, spread over `jobs` processes."""
    chunks = [list(names[i :: jobs * 8]) for i in range(jobs * 8)]
    results: Results = defaultdict(dict)
    with ProcessPoolExecutor(jobs) as pool:
        for chunk in pool.map(_run_chunk, [c for c in chunks if c]):
            for name, mode, outcome in chunk:
                results[name][mode] = outcome
    return results


def run_older() -> Results:
    """The older-opset nodes of `older_opset_cases`, in every mode, against ONNX Runtime."""
    return {
        name: {mode: check_against_onnxruntime(case, mode) for mode in BACKENDS}
        for name, case in older_opset_cases().items()
    }


def problems(results: Results) -> list[str]:
    """Failed cases, and cases whose outcome depends on the mode."""
    found = []
    for name in sorted(results):
        outcomes = results[name]
        for mode, outcome in outcomes.items():
            if outcome.status == "failed":
                found.append(f"FAILED {name} [{mode}]: {outcome.message}")
        if len(set(outcomes.values())) > 1:
            shown = "; ".join(f"{m}: {o.status} {o.message}" for m, o in outcomes.items())
            found.append(f"MODES DIFFER {name}: {shown}")
    return found


_NAMES = re.compile(r"\b(node|value|input|output|initializer) '[^']*'")


def reason(message: str) -> str:
    """A message without the names of nodes and values: the reason it gives."""
    message = message.split(": ", 1)[1] if message.startswith("node ") else message
    return _NAMES.sub(r"\1 '...'", message)


@dataclass
class OpSummary:
    """What the suite says about one operator."""

    passed: int = 0
    unsupported: int = 0
    undefined: int = 0
    """Cases whose expected data depends on results the spec leaves undefined."""
    opsets: set[int] = field(default_factory=set)
    older: set[int] = field(default_factory=set)
    """Older opsets checked against ONNX Runtime (`older_opset_cases`)."""
    attributes: set[str] = field(default_factory=set)
    reasons: Counter[str] = field(default_factory=Counter)


def summarize(results: Results, older: Results) -> dict[str, OpSummary]:
    """Per operator under test: cases passed and unsupported, opsets, attributes, reasons."""
    cases = {c.name: c for c in node_cases()}
    ops: dict[str, OpSummary] = defaultdict(OpSummary)
    for name, outcomes in results.items():
        case = cases[name]
        op = op_under_test(case, cases)
        summary = ops[op]
        outcome = outcomes["serial"]
        if outcome.status == "passed":
            summary.passed += 1
            summary.opsets.add(opset_of(case, op))
            if "_expanded" not in name:
                summary.attributes |= attributes_of(case)
        elif outcome.status == "undefined":
            summary.undefined += 1
        else:
            summary.unsupported += 1
            summary.reasons[reason(outcome.message)] += 1
    for name, outcomes in older.items():
        if all(o.status == "passed" for o in outcomes.values()):
            op, opset = name.split("-")[:2]
            ops[op].older.add(int(opset))
    return ops


def op_support_markdown(results: Results, older: Results) -> str:
    """docs/op-support.md."""
    ops = summarize(results, older)
    total = len(results)
    undefined = sum(1 for o in results.values() if o["serial"].status == "undefined")
    passed = {
        mode: sum(1 for o in results.values() if o[mode].status == "passed") for mode in BACKENDS
    }
    lines = [
        "# ONNX operator support",
        "",
        f"Generated by `tools/conformance.py` from the node test suite of onnx {onnx.__version__}",
        "(`onnx.backend.test.case.node`); do not edit by hand. Each case is compiled with",
        "`ramiel_mlir.onnx_backend` serially and with the parallelize pipeline on two lanes,",
        "run, and compared with the expected outputs within the case's tolerance",
        "(`tests/test_onnx_backend.py`). A case that is not supported is a compile-time",
        "error naming the node and the operator, opset, attribute or type; the list of",
        "those cases and their messages is `tests/onnx_backend_unsupported.txt`.",
        "",
        "Outputs whose sizes depend on the data (NonZero, Compress, Unique,",
        "NonMaxSuppression, a Range or Pad over computed values) have `?` dimensions in",
        "the dfg type; the nodes after them compile wherever their lowering does not",
        "need the size, and an error names the node that does (docs/architecture.md,",
        '"Sizes known only at run time").',
        "",
        f"**{passed['serial']} of {total} cases pass** serially, "
        f"{passed['parallel']} with two lanes.",
        "",
        f"{undefined} cases are *undefined by the spec*, counted apart and not as passed: their",
        "expected outputs depend on casts from floating point to integer types of values out",
        "of the target's range, which the ONNX spec leaves undefined (onnx computes them",
        "with the collecting processor's conversions, which differ between machines). Only",
        "their defined elements are compared, and they match. Ramiel's own behaviour there:",
        "a float cast to INT4, UINT4, INT2 or UINT2 is truncated toward zero and wrapped to",
        "the width (two's complement), for values within int64's range; to the wider",
        "integer types it is what torch's conversion gives on the machine, and NaN and the",
        "infinities give whatever the processor gives (`tests/test_dtypes.py` checks the",
        "wrapping against integer arithmetic of its own).",
        "",
        "Opsets and attributes are those of the passing cases (an `_expanded` case is",
        "the operator's function body and counts for the operator). The suite tests",
        "operators at their latest opsets; opsets marked * are older versions whose",
        f"definition changed, checked against ONNX Runtime ({len(older)} single nodes in",
        "`tests/conformance.py:older_opset_cases`, serially and with two lanes).",
        "*Unsupported* counts the cases that failed to compile, for the reasons listed",
        "below the table; *undefined* the cases undefined by the spec.",
        "",
        "| operator | opsets | attributes | passed | unsupported | undefined |",
        "|---|---|---|---:|---:|---:|",
    ]
    for op in sorted(ops, key=str.lower):
        s = ops[op]
        versions = [(v, "") for v in s.opsets] + [(v, "*") for v in s.older - s.opsets]
        opsets = ", ".join(f"{v}{mark}" for v, mark in sorted(versions)) or "-"
        attributes = ", ".join(sorted(s.attributes)) or "-"
        lines.append(
            f"| {op} | {opsets} | {attributes} | {s.passed} | {s.unsupported} | {s.undefined} |"
        )
    lines += ["", "## Why cases are unsupported", ""]
    for op in sorted(ops, key=str.lower):
        s = ops[op]
        if not s.unsupported:
            continue
        lines.append(f"- **{op}**:")
        for why, count in sorted(s.reasons.items(), key=lambda item: (-item[1], item[0])):
            lines.append(f"  - {why} ({count})")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0].strip())
    parser.add_argument("--check", action="store_true", help="compare with the files only")
    parser.add_argument("-k", default="", help="run only cases whose names contain this")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args(argv)

    begin = time.perf_counter()
    names = [c.name for c in node_cases() if args.k in c.name]
    results = run_all(names, args.jobs)
    older = run_older() if not args.k else {}
    elapsed = time.perf_counter() - begin
    for mode in BACKENDS:
        count = Counter(results[n][mode].status for n in names)
        print(
            f"{mode}: {count['passed']} passed, {count['unsupported']} unsupported, "
            f"{count['undefined']} undefined by the spec, {count['failed']} failed "
            f"of {len(names)}"
        )
    print(f"{elapsed:.0f} s with {args.jobs} processes")
    found = problems(results) + [
        f"FAILED older opset {name} [{mode}]: {o.message}"
        for name, outcomes in older.items()
        for mode, o in outcomes.items()
        if o.status != "passed"
    ]
    for line in found:
        print(line)
    if found:
        return 1
    unsupported = {
        n: o["serial"].message for n, o in results.items() if o["serial"].status == "unsupported"
    }
    for name, outcomes in sorted(results.items()):
        if outcomes["serial"].status == "undefined":
            print(f"undefined by the spec: {name}: {outcomes['serial'].message}")
    if args.k:
        expected = {n: m for n, m in read_expected().items() if args.k in n}
        changed = expected != unsupported
        print("the list is " + ("out of date" if changed else "current") + " for these cases")
        return int(changed and args.check)
    if args.check:
        document = op_support_markdown(results, older)
        current = read_expected() == unsupported and DOC_PATH.read_text() == document
        print(f"{EXPECTED_PATH.name} and {DOC_PATH.name} are {'' if current else 'not '}current")
        return 0 if current else 1
    write_expected(unsupported)
    DOC_PATH.write_text(op_support_markdown(results, older))
    print(f"wrote {EXPECTED_PATH.relative_to(ROOT)} and {DOC_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
