"""An agent folder (a folder with agent.json, or a packaged submission with agent/weights/agent.json)
is a policy spec played exactly as its agent.json says, wherever specs are taken (test mode,
opponents, the league)."""

import json

import numpy as np
import torch


def _folder(tmp_path, conf):
    from agent.net import build_net, save_checkpoint

    torch.manual_seed(3)
    d = tmp_path / "agent_folder"
    d.mkdir()
    save_checkpoint(str(d / "model.pt"), build_net("small"))
    (d / "agent.json").write_text(json.dumps(conf))
    return d


def _play(check, seed=2, turns=25):
    """A tiny game of random-masked play; ``check(state)`` on player_0's main-phase turns."""
    from agent.actions import decode
    from agent.policy import RandomMaskedPolicy
    from wrappers.engine import make_env, run_game

    pols = {p: RandomMaskedPolicy(seed + i) for i, p in enumerate(("player_0", "player_1"))}

    def act(p, st):
        if p == "player_0":
            check(st)
        return decode(st, pols[p](st))

    run_game(make_env("tiny", max_episode_length=turns), seed, act)


def _plays_like(policy, ref, plain):
    """A tiny game: ``policy``'s action dicts equal ``ref``'s decoded cell actions on every turn,
    and differ from ``plain``'s (another decoding of the same weights) on some: the spec's decoding
    is not ignored. ``policy`` returns action dicts, ``ref`` and ``plain`` cell actions."""
    from agent.actions import decode

    seen = {"turns": 0, "differs": 0}

    def check(st):
        a = policy(st)
        assert a == decode(st, ref(st))
        seen["turns"] += 1
        seen["differs"] += a != decode(st, plain(st))

    _play(check)
    assert seen["turns"] > 10 and seen["differs"] > 0


def test_agent_folder_plays_as_its_agent_json(tmp_path):
    from agent.player import agent_folder_config, policy_from_spec
    from training.evaluation.evaluate import make_policy

    d = _folder(tmp_path, {"agent": "net", "weights": "model.pt", "greedy": True, "water_guard": True,
                           "power_guard": True})
    conf = agent_folder_config(str(d))
    assert conf["spec"] == str(d / "model.pt") and conf["greedy"] and conf["water_guard"] and conf["power_guard"]
    assert not conf["raid_guard"]
    # the same folder inside a packaged submission layout
    sub = tmp_path / "submission" / "agent"
    sub.mkdir(parents=True)
    d.rename(sub / "weights")
    assert agent_folder_config(str(tmp_path / "submission"))["spec"] == str(sub / "weights" / "model.pt")
    folder_pol = make_policy(str(tmp_path / "submission"), seed=1, greedy=False)  # the folder's greedy wins
    ref = policy_from_spec(str(sub / "weights" / "model.pt"), seed=1, greedy=True, water_guard=True, power_guard=True)
    plain = policy_from_spec(str(sub / "weights" / "model.pt"), seed=1, greedy=False)
    _plays_like(folder_pol, ref, plain)  # sampled and unguarded is another agent: the folder spec is not ignored
    assert agent_folder_config(str(tmp_path)) is None and agent_folder_config("scripted") is None


def test_agent_folder_of_a_scripted_agent(tmp_path):
    from agent.player import agent_folder_config

    d = tmp_path / "s"
    d.mkdir()
    (d / "agent.json").write_text(json.dumps({"agent": "scripted"}))
    assert agent_folder_config(str(d))["spec"] == "scripted"
    np.testing.assert_equal(agent_folder_config(str(d))["greedy"], True)


def test_dagger_student_of_an_agent_folder_plays_as_packaged(tmp_path):
    """DAgger takes the same specs: a student folder plays as its agent.json says (sampled
    factories, guards), so the states it visits are those of the packaged agent."""
    from agent.actions import decode
    from agent.player import policy_from_spec
    from training.imitation.teachers import dagger_student

    d = _folder(tmp_path, {"agent": "net", "weights": "model.pt", "greedy": True, "sample_factories": True,
                           "water_guard": True})
    student = dagger_student(str(d), seed=4)
    ref = policy_from_spec(str(d / "model.pt"), seed=4, greedy=True, sample_factories=True, water_guard=True)
    plain = dagger_student(str(d / "model.pt"), seed=4)  # a weights file: greedy everywhere, no guards
    _plays_like(lambda st: decode(st, student(st)), ref, plain)
    scripted = tmp_path / "s"
    scripted.mkdir()
    (scripted / "agent.json").write_text(json.dumps({"agent": "scripted"}))
    for bad, guards, msg in ((scripted, False, "not a net"), (d, True, "says its guards")):
        try:
            dagger_student(str(bad), seed=0, guards=guards)
        except ValueError as e:
            assert msg in str(e)
        else:
            raise AssertionError(f"{bad} was taken as a student")


def test_pool_agent_folder_plays_as_packaged(tmp_path, monkeypatch):
    """pool_agents takes the same specs: an agent folder in the opponent pool plays exactly as its
    agent.json says (greedy robots, sampled factories, guards), with the seed the pool draws."""
    import training.ppo.opponents as opponents
    from agent.player import policy_from_spec

    d = _folder(tmp_path, {"agent": "net", "weights": "model.pt", "greedy": True, "sample_factories": True,
                           "water_guard": True})
    seeds = []
    real = opponents.policy_from_spec

    def spy(spec, seed=0, **kw):
        seeds.append(seed)
        return real(spec, seed=seed, **kw)

    monkeypatch.setattr(opponents, "policy_from_spec", spy)
    pool = opponents.PoolOpponent(str(tmp_path / "pool"), p_random=0.0, seed=0, agents=[str(d)], p_agent=1.0)
    pool.reseed(5)
    assert pool.current_name == f"agent:{d}" and len(seeds) == 1
    ref = policy_from_spec(str(d / "model.pt"), seed=seeds[0], greedy=True, sample_factories=True, water_guard=True)
    plain = policy_from_spec(str(d / "model.pt"), seed=seeds[0], greedy=False)
    _plays_like(pool, ref, plain)
    try:
        opponents.PoolOpponent(str(tmp_path), agents=[str(tmp_path / "missing.pt")], p_agent=1.0)
    except ValueError as e:
        assert "is not random, scripted" in str(e) and "\n" not in str(e)
    else:
        raise AssertionError("a missing agent was taken")


def test_test_mode_folder_spec_plays_what_main_py_in_that_folder_plays(tmp_path, monkeypatch):
    """The repository is an agent folder (agent/weights/agent.json) with a main.py: test mode playing
    the folder in-process sends, turn by turn, the same actions as its main.py through the protocol."""
    from pathlib import Path

    from training.evaluation.evaluate import play_game

    for k in ("LUXKIT_AGENT", "LUXKIT_WEIGHTS"):
        monkeypatch.delenv(k, raising=False)
    root = str(Path(__file__).resolve().parents[1])
    games = {}
    for name, spec in (("folder", root), ("main_py", f"bot:{root}")):
        path = tmp_path / f"{name}.json"
        res = play_game(spec, "random", 4, rules="tiny", max_episode_length=40, replay_path=str(path))
        games[name] = (res, json.loads(path.read_text())["actions"])
    (res_f, acts_f), (res_m, acts_m) = games["folder"], games["main_py"]
    assert len(acts_f) == len(acts_m) > 40
    units = sum(any(k.startswith("unit_") for k in a.get("player_0", {})) for a in acts_f)
    assert units >= 10  # its robots act
    for turn, (a, b) in enumerate(zip(acts_f, acts_m)):
        assert a["player_0"] == b["player_0"], turn
    assert res_f["lichen"] == res_m["lichen"] and res_f["result"] == res_m["result"]


def test_agent_folder_joint_greedy_plays_joint_robot_types(tmp_path):
    """agent.json "joint_greedy": the folder plays robot types by the joint argmax of the whole action
    (agent.policy.joint_robot_type), not by the type's own argmax."""
    from agent.player import agent_folder_config, load_policy_factory, policy_from_spec, resolve_agent_config
    from training.evaluation.evaluate import make_policy

    d = _folder(tmp_path, {"agent": "net", "weights": "model.pt", "greedy": True, "joint_greedy": True})
    assert agent_folder_config(str(d))["joint_greedy"] is True
    folder_pol = make_policy(str(d), seed=1)
    ref = policy_from_spec(str(d / "model.pt"), seed=1, greedy=True, joint_greedy=True)
    plain = policy_from_spec(str(d / "model.pt"), seed=1, greedy=True)
    _plays_like(folder_pol, ref, plain)
    conf = resolve_agent_config(str(d), environ={})
    assert conf["joint_greedy"] is True and "joint robot types" in load_policy_factory(conf)[1]
    (d / "agent.json").write_text(json.dumps({"agent": "net", "weights": "model.pt", "joint_greedy": "yes"}))
    try:
        resolve_agent_config(str(d), environ={})
    except ValueError as e:
        assert "'joint_greedy' must be a bool" in str(e)
    else:
        raise AssertionError("a non-bool joint_greedy was taken")
