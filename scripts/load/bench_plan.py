"""What ``make bench`` measures and in which order: its settings from the environment, the pages
(who looks at which URL), the two data sizes and the pairing of the two page by page in every
repetition. Pure: nothing here touches a database, a process or the network."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from html import unescape

DEFAULT_BASE_URL = "postgresql://postgres@127.0.0.1:5432"
SMALL_DATABASE = "tracker_bench_10k"
LARGE_DATABASE = "tracker_bench_1m"
SEED = 1
ADMIN = "admin"

# The words searched for: frequent and rare two-character words, and a five-character one.
FREQUENT_WORD = "街灯"
RARE_WORD = "鉄塔"
LONG_WORD = "防犯カメラ"


@dataclass(frozen=True)
class BenchSettings:
    small: int = 10_000
    large: int = 1_000_000
    seconds: float = 5.0  # per page, per size, per repetition
    repeats: int = 3
    clients: int = 4  # concurrent keep-alive clients of the load process
    deep_pages: int = 50  # how many "next" links the deep keyset page is
    base_url: str = DEFAULT_BASE_URL
    reuse: bool = False  # keep a database that already holds its requests (BENCH_REUSE=1)

    @classmethod
    def from_env(cls, env) -> BenchSettings:
        return cls(
            small=max(1, int(env.get("BENCH_SMALL", "10000"))),
            large=max(1, int(env.get("BENCH_LARGE", "1000000"))),
            seconds=max(0.5, float(env.get("BENCH_SECONDS", "5"))),
            repeats=max(1, int(env.get("BENCH_REPEATS", "3"))),
            clients=max(1, int(env.get("BENCH_CLIENTS", "4"))),
            deep_pages=max(1, int(env.get("BENCH_DEEP_PAGES", "50"))),
            base_url=env.get("BENCH_DATABASE_URL", DEFAULT_BASE_URL),
            reuse=env.get("BENCH_REUSE", "") == "1",
        )

    def sizes(self) -> list[tuple[str, int, str]]:
        """(label, requests, database name) of the small and the large database, in that order."""
        return [
            (size_label(self.small), self.small, SMALL_DATABASE),
            (size_label(self.large), self.large, LARGE_DATABASE),
        ]

    def measuring_seconds(self, pages: int) -> float:
        """How long the timed windows take in all (each page on both sizes, every repetition)."""
        return pages * 2 * self.repeats * self.seconds


def size_label(requests: int) -> str:
    """10,000 → "10k", 1,000,000 → "1M", 1,500 → "1.5k", 300 → "300"."""
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if requests >= unit:
            return f"{requests / unit:.1f}".removesuffix(".0") + name
    return str(requests)


@dataclass(frozen=True)
class Page:
    """One measured page: ``who`` logs in (None: anonymous, a new visitor each time), ``path`` may
    name facts of the database looked at ({ward}, {request}, {issue}, {deep})."""

    key: str
    label: str
    who: str | None
    path: str
    group: str  # baseline, page, list, search, detail, dashboard, report

    def url(self, facts: dict[str, str]) -> str:
        """The path asked for on a database with these facts, percent-encoded as a browser sends it."""
        return urllib.parse.quote(self.path.format(**facts), safe="/?=&%")


PAGES: tuple[Page, ...] = (
    Page("baseline", "baseline: minimal Flask page", None, "/", "baseline"),
    Page("login", "login page", None, "/login", "page"),
    Page("requests_list", "requests list, first page", ADMIN, "/requests/", "list"),
    Page(
        "requests_ward_state",
        "requests list, ward + state",
        ADMIN,
        "/requests/?ward={ward}&state=received",
        "list",
    ),
    Page("requests_deep", "requests list, deep keyset page", ADMIN, "{deep}", "list"),
    Page(
        "requests_keyword",
        f"requests list, keyword {FREQUENT_WORD}",
        ADMIN,
        f"/requests/?q={FREQUENT_WORD}",
        "list",
    ),
    Page(
        "search_frequent", f"search {FREQUENT_WORD} (frequent)", ADMIN, f"/search?q={FREQUENT_WORD}", "search"
    ),
    Page("search_rare", f"search {RARE_WORD} (rare)", ADMIN, f"/search?q={RARE_WORD}", "search"),
    Page("search_long", f"search {LONG_WORD} (5 characters)", ADMIN, f"/search?q={LONG_WORD}", "search"),
    Page("request_detail", "request detail", ADMIN, "/requests/{request}", "detail"),
    Page("issue_detail", "issue detail", ADMIN, "/issues/{issue}", "detail"),
    Page("dashboard_liaison", "dashboard: liaison", "chuo.liaison", "/dashboard/", "dashboard"),
    Page("dashboard_manager", "dashboard: ward manager", "chuo.manager", "/dashboard/", "dashboard"),
    Page("dashboard_bureau", "dashboard: bureau", "toshi.staff", "/dashboard/", "dashboard"),
    Page("dashboard_admin", "dashboard: admin", ADMIN, "/dashboard/", "dashboard"),
    Page("city_dashboard", "city dashboard", ADMIN, "/dashboard/city", "dashboard"),
    Page("fiscal_year_report", "fiscal-year report", ADMIN, "/reports/fiscal-year", "report"),
    Page("public", "public page", None, "/public/", "page"),
)
REFERENCE_PAGE = "requests_list"  # dashboards and reports are compared with its throughput


def logins(pages=PAGES) -> list[str]:
    """The accounts the pages are seen as, each once, in the order first needed."""
    return list(dict.fromkeys(page.who for page in pages if page.who))


def schedule(pages, sizes: list[str], repeats: int) -> list[tuple[int, str, str]]:
    """(repetition, page key, size label) in the order measured: page A on the small database,
    page A on the large one, page B on the small one, ...; the whole round again per repetition.
    Each pair is measured seconds apart, so a machine that gets busier hits both alike."""
    return [(rep, page.key, size) for rep in range(repeats) for page in pages for size in sizes]


_NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def next_link(html: str) -> str | None:
    """The list's "next" link (the keyset cursor of the following page), or None on the last page."""
    match = _NEXT.search(html)
    return unescape(match.group(1)) if match else None


def middle_common(small_ids: list[int], large_ids: set[int]) -> int | None:
    """The middle one of the ids present in both databases (a row that both pages can show)."""
    common = sorted(set(small_ids) & large_ids)
    return common[len(common) // 2] if common else None
