"""From measured samples to ``benchmarks/results.json`` and its Markdown table. Pure functions.

A *cell* is one page on one database in one repetition: its latencies (ms, answers 200 only), the
status of every answer, the ``X-SQL-Statements`` values seen, and the seconds its window lasted.
The cells of a page and size are pooled over the repetitions: throughput is the 200 answers per
second of all windows together, p50/p95 the percentiles of all their latencies.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from .bench_plan import PAGES, REFERENCE_PAGE

GROWTH_LIMIT = 1.5  # p95 at the large size ÷ p95 at the small size
REFERENCE_SHARE = 0.5  # dashboards and reports: at least this share of the requests list's throughput
EXPORT_ROWS_PER_SECOND = 50_000
EXPORT_RSS_MB = 150
COMPARED_GROUPS = ("dashboard", "report")
START_MARK = (
    "<!-- bench:results:start (scripts/bench.py --markdown benchmarks/results.json --into this file) -->"
)
END_MARK = "<!-- bench:results:end -->"


@dataclass
class Cell:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    statements: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100), interpolated between the two nearest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _pooled(cells: list[Cell]) -> dict:
    latencies = [ms for cell in cells for ms in cell.latencies_ms]
    seconds = sum(cell.seconds for cell in cells)
    statuses = sum((cell.statuses for cell in cells), Counter())
    statements = sum((cell.statements for cell in cells), Counter())
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    return {
        "throughput": round(len(latencies) / seconds, 2) if seconds else 0.0,
        "p50_ms": round(p50, 2) if p50 is not None else None,
        "p95_ms": round(p95, 2) if p95 is not None else None,
        "answers": sum(statuses.values()),
        "errors": sum(n for status, n in statuses.items() if status != 200),
        "statuses": {str(status): n for status, n in sorted(statuses.items())},
        # The count most answers carried (it is one number unless the page varies); None: no header.
        "statements": statements.most_common(1)[0][0] if statements else None,
        "statements_seen": sorted(statements),
    }


def page_results(cells: dict[tuple[int, str, str], Cell], sizes: list[str], pages=PAGES) -> dict:
    """Per page: both sizes pooled, ``growth``, ``ratio_to_baseline`` (at the large size) and
    ``statements`` {small, large}."""
    small, large = sizes
    results = {}
    for page in pages:
        by_size = {
            size: _pooled([cell for (_, key, s), cell in cells.items() if key == page.key and s == size])
            for size in sizes
        }
        results[page.key] = {
            "label": page.label,
            "path": page.path,
            "as": page.who or "anonymous",
            "group": page.group,
            **by_size,
            "growth": _ratio(by_size[large]["p95_ms"], by_size[small]["p95_ms"]),
            "statements": {size: by_size[size]["statements"] for size in sizes},
        }
    baseline = results.get("baseline")
    for result in results.values():
        base = baseline[large]["throughput"] if baseline else None
        result["ratio_to_baseline"] = _ratio(result[large]["throughput"], base)
    return results


def page_targets(results: dict, sizes: list[str]) -> dict:
    """Which targets each page meets: growth, SQL statements equal at both sizes, and for
    dashboards and reports the share of the requests list's throughput (at each size)."""
    reference = results.get(REFERENCE_PAGE)
    for result in results.values():
        growth = result["growth"]
        targets = {"growth": growth is not None and growth <= GROWTH_LIMIT}
        counts = [result["statements"][size] for size in sizes]
        targets["statements"] = counts[0] == counts[1] and all(
            len(result[size]["statements_seen"]) <= 1 for size in sizes
        )
        if result["group"] in COMPARED_GROUPS and reference:
            shares = [_ratio(result[size]["throughput"], reference[size]["throughput"]) for size in sizes]
            result["share_of_list"] = dict(zip(sizes, shares, strict=True))
            targets["share_of_list"] = all(share is not None and share >= REFERENCE_SHARE for share in shares)
        targets["no_errors"] = all(result[size]["errors"] == 0 for size in sizes)
        result["targets"] = targets
        result["meets_targets"] = all(targets.values())
    return results


def export_result(rows: int, database_rows: int, seconds: float, peak_rss_kb: int, exit_status: int) -> dict:
    """One run of ``flask export-requests``: complete when it exited 0 with every request."""
    return {
        "rows": rows,
        "database_rows": database_rows,
        "complete": exit_status == 0 and rows == database_rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds) if seconds else 0,
        "peak_rss_mb": round(peak_rss_kb / 1024, 1),
        "exit_status": exit_status,
    }


def export_targets(export: dict) -> dict:
    return {
        "complete": export["complete"],
        "rows_per_second": export["rows_per_second"] >= EXPORT_ROWS_PER_SECOND,
        "peak_rss": export["peak_rss_mb"] < EXPORT_RSS_MB,
    }


def results_document(
    cells, sizes: dict[str, int], exports: dict[str, dict], settings: dict, pages=PAGES
) -> dict:
    """The whole of ``benchmarks/results.json``. ``sizes``: label → requests, small first;
    ``exports``: label → ``export_result``; the targets are judged at the large size."""
    labels = list(sizes)
    pages_out = page_targets(page_results(cells, labels, pages), labels)
    large = labels[1]
    export_out = {label: {**value, "targets": export_targets(value)} for label, value in exports.items()}
    missed = {
        "growth": [k for k, r in pages_out.items() if not r["targets"]["growth"]],
        "statements": [k for k, r in pages_out.items() if not r["targets"]["statements"]],
        "share_of_list": [k for k, r in pages_out.items() if r["targets"].get("share_of_list") is False],
        "errors": [k for k, r in pages_out.items() if not r["targets"]["no_errors"]],
        "export": [name for name, ok in export_out.get(large, {}).get("targets", {}).items() if not ok]
        if large in export_out
        else ["not measured"],
    }
    return {
        "sizes": sizes,
        "settings": settings,
        "limits": {
            "growth": GROWTH_LIMIT,
            "share_of_list": REFERENCE_SHARE,
            "export_rows_per_second": EXPORT_ROWS_PER_SECOND,
            "export_peak_rss_mb": EXPORT_RSS_MB,
        },
        "pages": pages_out,
        "export": export_out,
        "targets_missed": missed,
        "all_targets_met": not any(missed.values()),
    }


# --- the table --------------------------------------------------------------------------------------


def _num(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def markdown(document: dict) -> str:
    """The pages and the export as Markdown tables, with the targets each misses."""
    small, large = list(document["sizes"])
    head = (
        f"| page | as | req/s {small} | req/s {large} | p50 ms {small} | p50 ms {large} | "
        f"p95 ms {small} | p95 ms {large} | growth | × baseline | SQL {small} / {large} | missed |"
    )
    lines = [head, "|" + " --- |" * 12]
    for result in document["pages"].values():
        missed = [name for name, ok in result["targets"].items() if not ok]
        sql = "/".join(_num(result["statements"][size], 0) for size in (small, large))
        cells = [
            result["label"],
            result["as"],
            _num(result[small]["throughput"]),
            _num(result[large]["throughput"]),
            _num(result[small]["p50_ms"]),
            _num(result[large]["p50_ms"]),
            _num(result[small]["p95_ms"]),
            _num(result[large]["p95_ms"]),
            _num(result["growth"], 2),
            _num(result["ratio_to_baseline"], 3),
            sql,
            ", ".join(missed) or "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| CSV export of everything | rows | complete | seconds | rows/s | peak RSS MB | missed |"]
    lines.append("|" + " --- |" * 7)
    for label, export in document["export"].items():
        missed = [name for name, ok in export["targets"].items() if not ok]
        cells = [
            label,
            f"{export['rows']:,} of {export['database_rows']:,}",
            "yes" if export["complete"] else "no",
            _num(export["seconds"], 1),
            f"{export['rows_per_second']:,}",
            _num(export["peak_rss_mb"]),
            ", ".join(missed) or "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    verdict = (
        "every target met"
        if document["all_targets_met"]
        else "targets missed: "
        + "; ".join(f"{name}: {', '.join(keys)}" for name, keys in document["targets_missed"].items() if keys)
    )
    lines += [
        "",
        f"Sizes: {', '.join(f'{k} = {v:,} requests' for k, v in document['sizes'].items())}. {verdict}.",
    ]
    return "\n".join(lines) + "\n"


def replace_section(text: str, table: str) -> str:
    """``text`` with what lies between the two result marks replaced by ``table``."""
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start < 0 or end < start:
        raise ValueError(f"the file has no section between {START_MARK!r} and {END_MARK!r}")
    return text[: start + len(START_MARK)] + "\n" + table + text[end:]
