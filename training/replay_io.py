"""Reading Lux S2 replays: luxai-s2 runner JSON and Kaggle episode JSON, plain, gzipped or
xz-compressed (detected by content), as a stream of :class:`agent.obs.GameState` turn by turn.

The formats are described in :mod:`training.imitation.replays` (which labels them) and read here, so that
the importer and the renderer (:mod:`training.evaluation.render`) share one reader without importing each
other.
"""

import gzip
import json
import lzma

try:
    import orjson  # requirements.txt; the stdlib's json when absent
except ImportError:  # pragma: no cover
    orjson = None

from agent.obs import GameConfig, GameState, ObservationError

PLAYERS = ("player_0", "player_1")


class ReplayError(ValueError):
    """A replay file is unreadable or not a Lux S2 replay; the message starts with the file name."""


# ---------------------------------------------------------------------------------------- reading
def read_json(path):
    """The JSON object in ``path`` (gzip and xz detected by their magic bytes, not the name).

    Raises:
        ReplayError: missing file, truncated gzip or xz, invalid or truncated JSON.
    """
    raw = read_bytes(path)
    if orjson is not None:
        try:
            return orjson.loads(raw)  # 2.3x the stdlib's speed on a 57 MB 64x64 replay (notes/usage.md)
        except orjson.JSONDecodeError:
            pass  # what orjson refuses (e.g. NaN) the stdlib parses or names
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ReplayError(f"{path}: not valid JSON, truncated? ({e})") from None


def read_bytes(path):
    """The bytes of ``path``, decompressed when they are gzip or xz (by their magic bytes).

    Raises:
        ReplayError: missing or unreadable file, truncated gzip or xz.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ReplayError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ReplayError(f"{path}: truncated or corrupt gzip ({e})") from None
    elif raw[:6] == b"\xfd7zXZ\x00":
        try:
            raw = lzma.decompress(raw)
        except (lzma.LZMAError, EOFError) as e:
            raise ReplayError(f"{path}: truncated or corrupt xz ({e})") from None
    return raw


class Replay:
    """One game as a stream of observations and the actions taken on them.

    Attributes:
        path (str), fmt (str): ``"runner"`` or ``"kaggle"``.
        env_cfg (dict): ``dataclasses.asdict(EnvConfig)`` of the game.
        seed (int | None): map seed (needed only by :func:`engine_check`).
        observations (list): T+1 observations (dict or JSON text; full or change observations),
            ``observations[t]`` is the state at protocol step ``t``.
        actions (list[dict]): T dicts ``{player: action dict or None}``; ``actions[t]`` acts on
            ``observations[t]``.
    """

    def __init__(self, path, fmt, env_cfg, seed, observations, actions):
        self.path, self.fmt, self.env_cfg, self.seed = path, fmt, env_cfg, seed
        self.observations, self.actions = observations, actions

    def __len__(self):
        return len(self.actions)


def _default_env_cfg(map_size, max_episode_length):
    import dataclasses

    from luxai_s2.config import EnvConfig

    return dataclasses.asdict(EnvConfig(map_size=int(map_size), max_episode_length=int(max_episode_length)))


def _check_obs(path, obs, where):
    if isinstance(obs, str):
        try:
            obs = json.loads(obs)
        except ValueError as e:
            raise ReplayError(f"{path}: {where} is not valid JSON ({e})") from None
    if not isinstance(obs, dict) or not all(k in obs for k in ("board", "units", "factories", "teams",
                                                                "real_env_steps")):
        keys = sorted(obs)[:8] if isinstance(obs, dict) else type(obs).__name__
        raise ReplayError(f"{path}: {where} is not a Lux S2 observation (keys {keys}); "
                          f"another game or version?")
    return obs


def load_replay(path, max_episode_length=1000):
    """Read a runner or Kaggle replay (see module docstring).

    Args:
        path (str): the file (``.json`` or gzipped).
        max_episode_length (int): rules of runner replays without ``env_cfg`` (turns).

    Returns:
        Replay

    Raises:
        ReplayError: unreadable file, or not a Lux S2 replay (names the file and the problem).
    """
    data = read_json(path)
    if not isinstance(data, dict):
        raise ReplayError(f"{path}: a JSON {type(data).__name__}, not a Lux S2 replay object")
    if "observations" in data and "actions" in data:
        obs, acts = data["observations"], data["actions"]
        if not isinstance(obs, list) or not isinstance(acts, list) or not obs:
            raise ReplayError(f"{path}: 'observations'/'actions' must be non-empty lists")
        if len(obs) != len(acts) + 1:
            raise ReplayError(f"{path}: {len(obs)} observations for {len(acts)} actions (expected one more "
                              f"observation than actions); truncated?")
        first = _check_obs(path, obs[0], "observations[0]")
        if not isinstance(first["board"].get("rubble"), list):
            raise ReplayError(f"{path}: observations[0] holds no full board; not a luxai-s2 runner replay")
        env_cfg = data.get("env_cfg")
        if env_cfg is None:
            env_cfg = _default_env_cfg(len(first["board"]["rubble"]), max_episode_length)
        meta = data.get("metadata") or {}
        seed = meta.get("seed", data.get("default_seed"))
        actions = [a if isinstance(a, dict) else {} for a in acts]
        rep = Replay(path, "runner", env_cfg, seed, obs, actions)
    elif "steps" in data:
        name = data.get("name")
        if name is not None and name != "lux_ai_s2":
            raise ReplayError(f"{path}: a Kaggle {name!r} episode, not lux_ai_s2 (Lux AI Season 2)")
        steps = data["steps"]
        conf = data.get("configuration") or {}
        env_cfg = conf.get("env_cfg")
        if not isinstance(steps, list) or len(steps) < 2:
            raise ReplayError(f"{path}: 'steps' must be a list of at least 2 steps")
        if not isinstance(env_cfg, dict):
            raise ReplayError(f"{path}: configuration.env_cfg is missing; not a lux_ai_s2 episode of "
                              f"kaggle-environments >= 1.10?")
        try:
            obs = [s[0]["observation"]["obs"] for s in steps]
            acts = [{p: s[i].get("action") for i, p in enumerate(PLAYERS)} for s in steps[1:]]
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ReplayError(f"{path}: steps[t] must be [player_0, player_1] entries with 'observation.obs' "
                              f"and 'action'") from None
        _check_obs(path, obs[0], "steps[0] observation.obs")
        rep = Replay(path, "kaggle", env_cfg, conf.get("seed"), obs, acts)
    else:
        raise ReplayError(f"{path}: neither a luxai-s2 runner replay ('observations', 'actions') nor a Kaggle "
                          f"episode ('steps'); keys {sorted(data)[:8]}")
    try:
        GameConfig(rep.env_cfg)
    except ObservationError as e:
        raise ReplayError(f"{path}: rules not usable ({e})") from None
    return rep


def iter_states(replay, players=PLAYERS):
    """Yield ``(t, states, actions)`` for every step of the replay.

    ``states`` maps each of ``players`` to its :class:`agent.obs.GameState` after observation
    ``t`` (the same object, updated in place); ``actions[p]`` is the dict ``p`` sent on it
    (``{}`` when none).

    Raises:
        ReplayError: an observation the GameState refuses (names the file and the step).
    """
    states = {p: GameState(replay.env_cfg, p) for p in players}
    for t, acts in enumerate(replay.actions):
        obs = replay.observations[t]
        for p, st in states.items():
            try:
                st.update(obs, step=t)
            except ObservationError as e:
                raise ReplayError(f"{replay.path}: step {t}: {e}") from None
        yield t, states, {p: (acts.get(p) or {}) if isinstance(acts, dict) else {} for p in PLAYERS}
