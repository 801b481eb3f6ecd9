"""luxkit's Lux AI Season 2 bot: the Kaggle submission entry point.

Two ways in, one code path (``agent.player``):

* ``luxai-s2 main.py main.py`` (and Kaggle's runner in a subprocess) starts ``python main.py``
  and speaks the stdin/stdout protocol: one JSON line in per turn, one JSON line of actions out.
* Kaggle's Python host ``exec``s this file and calls the *last callable* in its globals as
  ``agent_fn(observation, configuration)``; so every import happens at module load and
  ``agent_fn`` is defined last.

Only the standard library and numpy (and torch once weights ship) are imported: the Kaggle image
has no luxai_s2, gymnasium or stable-baselines3.
"""
import json
import sys

from agent.obs import ObservationError, parse_protocol_line
from agent.player import PlayerRegistry, log

_REGISTRY = PlayerRegistry()


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
            log(f"bad protocol line ({e}); sending no action")
            action = {}
        except Exception as e:  # never die
            log(f"unexpected error ({type(e).__name__}: {e}); sending no action")
            action = {}
        sys.stdout.write(json.dumps(action) + "\n")
        sys.stdout.flush()


def agent_fn(observation, configurations):
    """Kaggle entry: ``observation.obs`` (JSON text), ``.step``, ``.player``,
    ``.remainingOverageTime``; ``configurations["env_cfg"]`` holds the rules. Returns the action
    dict; ``{}`` on any error."""
    try:
        env_cfg = _get(configurations, "env_cfg")
        return _REGISTRY.act(
            _get(observation, "player"), int(_get(observation, "step", 0)), _get(observation, "obs"),
            env_cfg, float(_get(observation, "remainingOverageTime", 60.0) or 60.0),
        )
    except Exception as e:
        log(f"agent_fn failed ({type(e).__name__}: {e}); sending no action")
        return {}


if __name__ == "__main__":
    _stdin_loop()
