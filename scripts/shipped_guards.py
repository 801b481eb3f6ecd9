"""The decoding guards the shipped bot plays with, as train.py ``key=value`` arguments.

    python scripts/shipped_guards.py     # water_guard=true power_guard=true ... (one per line)

One line per ``agent.masks.GUARDS`` key, read from ``agent/weights/agent.json`` (a guard it does
not name is off), so run.sh and train_agent.sh train, test and package with exactly the shipped
decoding and a new guard needs no edit there. ``--weights-dir DIR`` reads another folder's
agent.json. Exits with 2 and a one-line message when that agent.json is missing or unreadable
(``agent.player.resolve_agent_config``).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.masks import GUARDS  # noqa: E402
from agent.player import CONFIG_NAME, WEIGHTS_DIR, resolve_agent_config  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights-dir", default=WEIGHTS_DIR, help="folder of agent.json (default agent/weights)")
    args = ap.parse_args(argv)
    if not (Path(args.weights_dir) / CONFIG_NAME).is_file():
        ap.exit(2, f"shipped_guards: no {CONFIG_NAME} in {args.weights_dir}\n")
    try:
        conf = resolve_agent_config(args.weights_dir, environ={})
    except ValueError as e:
        ap.exit(2, f"shipped_guards: {e}\n")
    print("\n".join(f"{k}={'true' if conf[k] else 'false'}" for k in GUARDS))


if __name__ == "__main__":
    main()
