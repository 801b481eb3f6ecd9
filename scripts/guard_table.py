"""The README's table of decoding guards, generated from ``agent.guards.REGISTRY``.

    python scripts/guard_table.py            # print the markdown table
    python scripts/guard_table.py --write    # put it in README.md between the guard markers

One row per guard, in the order the guards apply: its agent.json / train.py key, its flag (the
evaluation, packaging and robot_budget scripts), what it does and the module that defines it.
tests/test_guards.py checks that README.md holds exactly this table, so a new guard (or a
changed help line) fails the tests until ``--write`` is run.
"""

import argparse
import re
from pathlib import Path

from agent.guards import REGISTRY

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- guards:start -->", "<!-- guards:end -->"


def table():
    """The markdown table of :data:`agent.guards.REGISTRY` (str, newline-terminated)."""
    rows = ["| guard (agent.json, train.py key) | flag | what it does | code |", "| --- | --- | --- | --- |"]
    for g in REGISTRY:
        code = g.apply.__module__.replace(".", "/") + ".py"
        rows.append(f"| `{g.key}` | `{g.flag}` | {g.help} | `{code}` |")
    return "\n".join(rows) + "\n"


def readme_block(text):
    """What ``text`` (a README) holds between the guard markers, or None without them."""
    m = re.search(re.escape(START) + r"\n(.*?)" + re.escape(END), text, flags=re.S)
    return None if m is None else m.group(1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"replace the table between {START} and {END} in README.md")
    args = ap.parse_args(argv)
    if not args.write:
        print(table(), end="")
        return
    text = README.read_text()
    if readme_block(text) is None:
        raise SystemExit(f"guard_table.py: {README} has no {START} ... {END} block")
    start, end = text.index(START) + len(START), text.index(END)
    README.write_text(text[:start] + "\n" + table() + text[end:])
    print(f"wrote the table of {len(REGISTRY)} guards to {README}")


if __name__ == "__main__":
    main()
