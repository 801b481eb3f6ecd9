#!/usr/bin/env python3
"""Make the ``luxai-s2`` command-line runner (package ``luxai_runner``) work on Python 3.11.

luxai-s2 3.0.1 (the last PyPI release; upstream ``main`` still has the same code) ships a
runner that cannot play a single game on Python >= 3.11. Two bugs in
``luxai_runner/episode.py``:

(a) ``EpisodeConfig`` is a dataclass declaring ``replay_options: ReplayConfig = ReplayConfig()``.
    ``ReplayConfig`` is itself a (non-frozen, hence unhashable) dataclass, and since Python 3.11
    ``dataclasses`` rejects every unhashable default ("mutable default <class
    'luxai_runner.episode.ReplayConfig'> for field replay_options is not allowed: use
    default_factory"). The module fails at import, so ``luxai-s2 ...`` dies before doing anything.
    Fix: ``dataclasses.field(default_factory=ReplayConfig)`` (``dataclasses`` is already imported
    there).

(b) ``Episode.run`` starts both bots with
    ``await asyncio.wait(start_tasks, return_when=asyncio.ALL_COMPLETED)`` where ``start_tasks``
    holds bare coroutines. Passing coroutines to ``asyncio.wait`` was deprecated in 3.8 and is a
    ``TypeError`` since Python 3.11 ("Passing coroutines is forbidden, use tasks explicitly.").
    Fix: wrap them, ``[asyncio.ensure_future(t) for t in start_tasks]``.

Nothing else in ``luxai_runner`` (cli.py, bot.py, process.py, tournament/) was seen to break on
Python 3.11 when running a full game with this patch applied.

Every replacement is an exact-string substitution whose new line carries a ``# luxkit-patch:``
marker, so the script is idempotent: a second run finds the markers and changes nothing. If a
target line is neither in its original nor in its patched form (upstream changed the file), the
script stops with a non-zero exit code and says which patch could not be placed, without writing
anything.

The package is located with ``importlib.util.find_spec("luxai_runner")``, which imports only
``luxai_runner/__init__.py`` (empty), never the broken ``episode`` module.

Usage: ``python scripts/patch_luxai_runner.py [--runner-dir DIR] [--check]``
  --runner-dir DIR  patch the luxai_runner package in DIR instead of the installed one (tests)
  --check           only report; exit 1 if some patch is still missing
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

MARKER = "# luxkit-patch:"


@dataclass(frozen=True)
class Patch:
    name: str
    file: str  # relative to the luxai_runner package directory
    original: str  # exact upstream text (whole line(s), without trailing newline)
    patched: str  # replacement; must contain MARKER + name
    why: str


PATCHES: tuple[Patch, ...] = (
    Patch(
        name="py311-dataclass-default-factory",
        file="episode.py",
        original="    replay_options: ReplayConfig = ReplayConfig()",
        patched=(
            "    replay_options: ReplayConfig = dataclasses.field(default_factory=ReplayConfig)"
            "  # luxkit-patch: py311-dataclass-default-factory"
        ),
        why="Python 3.11 dataclasses reject the unhashable default ReplayConfig()",
    ),
    Patch(
        name="py311-asyncio-wait-tasks",
        file="episode.py",
        original="        await asyncio.wait(start_tasks, return_when=asyncio.ALL_COMPLETED)",
        patched=(
            "        await asyncio.wait([asyncio.ensure_future(t) for t in start_tasks], "
            "return_when=asyncio.ALL_COMPLETED)  # luxkit-patch: py311-asyncio-wait-tasks"
        ),
        why="Python 3.11 asyncio.wait() refuses bare coroutines",
    ),
)


class PatchError(RuntimeError):
    pass


def find_runner_dir() -> Path:
    spec = importlib.util.find_spec("luxai_runner")
    if spec is None or not spec.submodule_search_locations:
        raise PatchError(
            "cannot find the 'luxai_runner' package (installed by luxai-s2) for "
            f"{sys.executable}; install luxai-s2==3.0.1 first (scripts/setup.sh)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _count_lines(text: str, line: str) -> int:
    return sum(1 for ln in text.splitlines() if ln == line)


def plan_file(path: Path, patches: list[Patch]) -> tuple[str, str, list[tuple[Patch, str]]]:
    """Return (old_text, new_text, [(patch, status)]) for one file. Raises PatchError."""
    if not path.is_file():
        raise PatchError(f"{path} does not exist; luxai_runner layout changed upstream")
    old = path.read_text(encoding="utf-8")
    new = old
    results = []
    for p in patches:
        assert MARKER + " " + p.name in p.patched
        n_patched = _count_lines(new, p.patched)
        n_orig = _count_lines(new, p.original)
        if n_patched == 1 and n_orig == 0:
            results.append((p, "already patched"))
        elif n_orig == 1 and n_patched == 0:
            lines = new.split("\n")
            lines = [p.patched if ln == p.original else ln for ln in lines]
            new = "\n".join(lines)
            results.append((p, "applied"))
        else:
            marker_hint = ""
            if MARKER + " " + p.name in new:
                marker_hint = " (its marker is present but the patched line differs)"
            raise PatchError(
                f"cannot apply patch '{p.name}' to {path}: expected exactly one line\n"
                f"    {p.original.strip()!r}\n"
                f"or its patched form{marker_hint}; found {n_orig} original and {n_patched} "
                "patched occurrences.\nThe installed luxai-s2 differs from 3.0.1 (upstream "
                "changed?): check whether the bug still exists and update "
                "scripts/patch_luxai_runner.py."
            )
    return old, new, results


def run(runner_dir: Path, check: bool = False) -> int:
    by_file: dict[str, list[Patch]] = {}
    for p in PATCHES:
        by_file.setdefault(p.file, []).append(p)

    # Plan everything first so that a failure leaves every file untouched.
    plans = []
    for rel, patches in by_file.items():
        path = runner_dir / rel
        plans.append((path, *plan_file(path, patches)))

    for path, old, new, _ in plans:
        if new != old:
            try:  # never write a file that does not even compile
                compile(new, str(path), "exec")
            except SyntaxError as e:
                raise PatchError(f"patched {path} would not compile: {e}") from e

    missing = 0
    for path, old, new, results in plans:
        for p, status in results:
            if status == "applied" and check:
                status = "MISSING"
                missing += 1
            print(f"[patch_luxai_runner] {path.name}: {p.name}: {status} ({p.why})")
        if new != old and not check:
            tmp = path.with_name(path.name + ".luxkit-tmp")
            tmp.write_text(new, encoding="utf-8")
            os.replace(tmp, path)

    applied = sum(1 for *_, res in plans for _, s in res if s == "applied")
    if check:
        if missing:
            print(f"[patch_luxai_runner] {missing} patch(es) missing in {runner_dir}")
            return 1
        print(f"[patch_luxai_runner] all patches present in {runner_dir} (already patched)")
        return 0
    if applied:
        print(f"[patch_luxai_runner] patched {runner_dir}: {applied} change(s) applied")
    else:
        print(f"[patch_luxai_runner] {runner_dir}: already patched, nothing to do")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runner-dir", type=Path, default=None,
                    help="luxai_runner package directory (default: the installed one)")
    ap.add_argument("--check", action="store_true", help="report only, do not write")
    args = ap.parse_args(argv)
    try:
        runner_dir = args.runner_dir if args.runner_dir is not None else find_runner_dir()
        return run(runner_dir, check=args.check)
    except PatchError as e:
        print(f"[patch_luxai_runner] ERROR: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
