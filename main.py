"""luxkit's Lux AI Season 2 bot: the Kaggle submission entry point.

Two ways in, one code path (``agent.player``):

* ``luxai-s2 main.py main.py`` (and Kaggle's runner in a subprocess) starts ``python main.py``
  and speaks the stdin/stdout protocol: one JSON line in per turn, one JSON line of actions out.
* Kaggle's Python host ``exec``s this file and calls the *last callable* in its globals as
  ``agent_fn(observation, configuration)``; so every import happens at module load and
  ``agent_fn`` is defined last.

Which agent plays is decided once, at start-up (``agent.player.load_registry``): the weights
``agent/weights/model.pt`` (located from the agent package's own ``__file__``, since Kaggle's exec
leaves this file's ``__file__`` undefined) and ``agent/weights/agent.json``, or the environment
variables ``LUXKIT_AGENT`` / ``LUXKIT_WEIGHTS`` for local runs. Without weights, or when the
configured weights are missing or do not fit, the bot logs one stderr line and plays the
random-masked policy: it never dies.

Only the standard library, numpy and torch are imported: the Kaggle image (Python 3.7, torch
1.11) has no luxai_s2, gymnasium or stable-baselines3.
"""
import json
import sys

from agent.obs import ObservationError, parse_protocol_line
from agent.player import load_registry, log_error

_REGISTRY = load_registry()


def _get(obj, key, default=None):
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _stdin_loop():
    """Answer protocol lines until stdin closes; a bad line gets ``{}`` and a stderr line."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = parse_protocol_line(line)
            action = _REGISTRY.act(msg["player"], msg["step"], msg["obs"], msg["env_cfg"], msg["remaining_overage"])
        except ObservationError as e:
            log_error(f"bad protocol line ({e}); sending no action")
            action = {}
        except Exception as e:  # never die
            log_error(f"unexpected error ({type(e).__name__}: {e}); sending no action")
            action = {}
        try:
            text = json.dumps(action)
        except (TypeError, ValueError) as e:
            log_error(f"action is not JSON ({e}); sending no action")
            text = "{}"
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def agent_fn(observation, configurations):
    """Kaggle entry: ``observation.obs`` (JSON text), ``.step``, ``.player``,
    ``.remainingOverageTime``; ``configurations["env_cfg"]`` holds the rules. Returns the action
    dict; ``{}`` on any error."""
    try:
        env_cfg = _get(configurations, "env_cfg")
        overage = _get(observation, "remainingOverageTime")
        return _REGISTRY.act(
            _get(observation, "player"), int(_get(observation, "step", 0)), _get(observation, "obs"),
            env_cfg, 60.0 if overage is None else float(overage),
        )
    except Exception as e:
        log_error(f"agent_fn failed ({type(e).__name__}: {e}); sending no action")
        return {}


if __name__ == "__main__":
    _stdin_loop()
