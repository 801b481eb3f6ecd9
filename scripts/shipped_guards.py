"""The decoding guards the shipped bot plays with, as train.py ``key=value`` arguments.

    python scripts/shipped_guards.py     # water_guard=true power_guard=true ... (one per line)

One line per guard of ``agent.guards.REGISTRY`` (in its order), read from ``agent/weights/agent.json`` (a guard it does
not name is off), so run.sh and train_agent.sh train, test and package with exactly the shipped
decoding and a new guard needs no edit there. ``--weights-dir DIR`` reads another folder's
agent.json. Exits with 2 and a one-line message when that agent.json is missing or unreadable
(``agent.player.resolve_agent_config``).
"""

import argparse
from pathlib import Path

from agent.guards import REGISTRY
from agent.player import CONFIG_NAME, WEIGHTS_DIR, resolve_agent_config


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
    print("\n".join(f"{g.key}={'true' if conf[g.key] else 'false'}" for g in REGISTRY))


if __name__ == "__main__":
    main()
