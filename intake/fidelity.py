"""How faithfully the importer reads a corpus of annotated notices: a per-file table and a total.

The corpus (`shared/corpus/notices/`, beside the repository) holds real notices and
`expected.json`, the hand annotation of every task; its README defines a correct reading.
A task entry is exact when its units (each name as written, or the fuller name its file's
`aliases` give), their roles (lead, cooperating, responsible), its deadline, title and
category all match. Run `python -m intake.fidelity [corpus folder]` to print the table.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intake.wording import squash, strip_end_punctuation

CORPUS_ENV = "DUBAN_NOTICE_CORPUS"
CORPUS_PARTS = ("shared", "corpus", "notices")
ASPECTS = ("units", "roles", "deadline", "title", "category")


def find_corpus(start: Path | None = None) -> Path | None:
    """The corpus: $DUBAN_NOTICE_CORPUS, else `shared/corpus/notices` here or in a folder above."""
    given = os.environ.get(CORPUS_ENV)
    if given:
        path = Path(given)
        return path if (path / "expected.json").is_file() else None
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        candidate = folder.joinpath(*CORPUS_PARTS)
        if (candidate / "expected.json").is_file():
            return candidate
    return None


@dataclass
class Entry:
    """One expected task of one file and what the importer made of it."""

    key: str
    found: bool
    misses: list[str] = field(default_factory=list)  # aspects that differ

    @property
    def exact(self) -> bool:
        return self.found and not self.misses


@dataclass
class FileScore:
    name: str
    want: int
    got: int
    entries: list[Entry]
    refused: str | None = None  # the importer's message when it read nothing
    plan_title: bool = False  # the plan's title read as printed (not part of the task score)

    @property
    def exact(self) -> int:
        return sum(e.exact for e in self.entries)

    def right(self, aspect: str) -> int:
        return sum(e.found and aspect not in e.misses for e in self.entries)


def _text(value: str | None) -> str:
    return squash(strip_end_punctuation(value or ""))


def _similarity(a: str, b: str) -> float:
    from difflib import SequenceMatcher

    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def align(want: list[str], got: list[str]) -> list[int | None]:
    """For each wanted title, the index of the read task it corresponds to (order kept), or None.

    A dynamic-programming alignment maximising title similarity; a pair counts
    only above 0.5, so a missing or extra task does not shift the others.
    """
    n, m = len(want), len(got)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            similar = _similarity(want[i], got[j])
            pair = score[i + 1][j + 1] + similar if similar > 0.5 else -1.0
            score[i][j] = max(pair, score[i + 1][j], score[i][j + 1])
    result: list[int | None] = [None] * n
    i = j = 0
    while i < n and j < m:
        similar = _similarity(want[i], got[j])
        if similar > 0.5 and score[i][j] == score[i + 1][j + 1] + similar:
            result[i] = j
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            i += 1
        else:
            j += 1
    return result


def _canonical(name: str, aliases: dict[str, str]) -> str:
    return squash(aliases.get(name, name))


def _roles_match(
    expected: dict[str, Any], read: dict[str, str], named: set[str], aliases: dict[str, str]
) -> bool:
    """Roles are judged on the names both sides have, so a missing name is counted once, as
    units."""
    lead = {_canonical(n, aliases) for n in expected.get("lead") or []}
    coop = {_canonical(n, aliases) for n in expected.get("coop") or []}
    common = named & set(read)
    want = {
        n: "lead" if n in lead else "cooperating" if n in coop else "responsible" for n in common
    }
    return not (want != {n: read[n] for n in common} or (named and not common))


def compare(expected: dict[str, Any], task: dict[str, Any], aliases: dict[str, str]) -> list[str]:
    """The aspects in which a read task differs from its annotation (units, roles, deadline …)."""
    misses: list[str] = []
    read = {_canonical(u["name"], aliases): u["role"] for u in task["units"]}
    everyone = expected.get("all") or []
    named = {_canonical(n, aliases) for n in everyone}
    if set(read) != named:
        misses.append("units")
    if not _roles_match(expected, read, named, aliases):
        misses.append("roles")
    if (expected.get("deadline") or None) != task["deadline"]:
        misses.append("deadline")
    if _text(expected.get("title")) != _text(task["title"]):
        misses.append("title")
    if _text(expected.get("category")) != _text(task["category"]):
        misses.append("category")
    return misses


def read_tasks(path: Path) -> list[dict[str, Any]]:
    """The importer's reading of one file, every unit kept (placeholders too), as plain values."""
    return read_file(path)[1]


def read_file(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """(the plan's title, the tasks) as the importer reads one file."""
    from intake.source import read_notice

    notice = read_notice(path, partial=True)
    return notice.title, [
        {
            "title": t.title,
            "category": t.category,
            "deadline": t.deadline.isoformat() if t.deadline else None,
            "units": [{"name": u.name, "role": u.role.value} for u in t.units],
        }
        for t in notice.tasks
    ]


def score_file(
    folder: Path, name: str, annotation: dict[str, Any], aliases: dict[str, str]
) -> FileScore:
    from intake.notice import ImportFailed

    expected = list(annotation["tasks"].items())
    try:
        title, tasks = read_file(folder / name)
    except ImportFailed as refused:
        entries = [Entry(key, False) for key, _ in expected]
        first = " ".join(refused.message("zh").splitlines()[1:3])
        return FileScore(name, len(expected), 0, entries, refused=first)
    pairs = align([_text(t["title"]) for _, t in expected], [_text(t["title"]) for t in tasks])
    entries = [
        Entry(key, False)
        if index is None
        else Entry(key, True, compare(want, tasks[index], aliases))
        for (key, want), index in zip(expected, pairs, strict=False)
    ]
    return FileScore(
        name,
        len(expected),
        len(tasks),
        entries,
        plan_title=_text(title) == _text(annotation.get("plan_title")),
    )


def score_corpus(folder: Path) -> list[FileScore]:
    data = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    aliases = data.get("aliases", {})
    return [
        score_file(folder, name, annotation, aliases.get(name, {}))
        for name, annotation in data["files"].items()
    ]


def table(scores: list[FileScore]) -> str:
    """The per-file table in Markdown, the total last, then every miss."""
    head = "| file | want | got | exact | " + " | ".join(ASPECTS) + " |"
    lines = [head, "|" + " --- |" * (4 + len(ASPECTS))]
    for s in scores:
        cells = [s.name, str(s.want), str(s.got), str(s.exact), *(str(s.right(a)) for a in ASPECTS)]
        lines.append("| " + " | ".join(cells) + " |")
    want = sum(s.want for s in scores)
    exact = sum(s.exact for s in scores)
    total = [
        "**total**",
        str(want),
        str(sum(s.got for s in scores)),
        f"**{exact}** ({100 * exact / max(want, 1):.1f}%)",
        *(str(sum(s.right(a) for s in scores)) for a in ASPECTS),
    ]
    lines.append("| " + " | ".join(total) + " |")
    lines.append("")
    titles = sum(s.plan_title for s in scores)
    lines.append(f"plan titles read as annotated: {titles} of {len(scores)} files")
    return "\n".join(lines)


def misses(scores: list[FileScore]) -> str:
    lines = []
    for s in scores:
        if s.refused:
            lines.append(f"- {s.name}: refused: {s.refused}")
            continue
        for e in s.entries:
            if not e.exact:
                what = ", ".join(e.misses) if e.found else "not found"
                lines.append(f"- {s.name} task {e.key}: {what}")
    return "\n".join(lines)


def details(folder: Path, name: str) -> str:
    """Each annotated task of one file beside the task read for it: for finding what to fix."""
    data = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    expected = list(data["files"][name]["tasks"].items())
    tasks = read_tasks(folder / name)
    pairs = align([_text(t["title"]) for _, t in expected], [_text(t["title"]) for t in tasks])
    lines = []
    for (key, want), index in zip(expected, pairs, strict=False):
        lines.append(f"## {key} want: {json.dumps(want, ensure_ascii=False)}")
        got = json.dumps(tasks[index], ensure_ascii=False) if index is not None else None
        lines.append(f"   got: {got}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    named = [a for a in argv if not a.startswith("--")]
    folder = Path(named[0]) if named else find_corpus(Path.cwd())
    if folder is None or not (folder / "expected.json").is_file():
        print(
            "找不到通知语料（shared/corpus/notices/expected.json）——请给出其所在目录",
            file=sys.stderr,
        )
        return 2
    for flag in argv:
        if flag.startswith("--file="):
            print(details(folder, flag.removeprefix("--file=")))
            return 0
    scores = score_corpus(folder)
    print(table(scores))
    if "--no-misses" not in argv:
        print()
        print(misses(scores))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
