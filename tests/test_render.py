"""training.evaluation.render: replay frames (GIF/PNG) and the timeline, on one short 16x16 game.

The game is recorded in the luxai-s2 runner format (``training.evaluation.evaluate.play_game``, change
observations) and converted to a Kaggle episode for the second format; the timeline's final
numbers are checked against the engine's own result and the raw last observation.
"""

import json
import lzma
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agent.obs import PLAYERS
from training.evaluation import render
from training.imitation.replays import load_replay

ROOT = Path(__file__).resolve().parents[1]
TURNS = 40


@pytest.fixture(scope="module")
def game(tmp_path_factory):
    """A runner replay of scripted vs random (seed 3, 16x16, 40 turns) and play_game's result."""
    from training.evaluation.evaluate import play_game

    path = tmp_path_factory.mktemp("render") / "scripted_vs_random.json"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LUXKIT_AGENT", "scripted")
        result = play_game("scripted", "random", 3, rules="tiny", max_episode_length=TURNS, replay_path=str(path))
    return path, result


def _kaggle_episode(runner_path, out):
    """The runner replay rewritten as a Kaggle episode: ``steps[t][p]`` holds observation t (JSON
    text, player 0's entry) and the action sent on observation t-1."""
    d = json.loads(Path(runner_path).read_text())
    steps = []
    for t, obs in enumerate(d["observations"]):
        acts = d["actions"][t - 1] if t else {}
        steps.append([{"observation": {"obs": json.dumps(obs) if i == 0 else ""}, "action": acts.get(p)}
                      for i, p in enumerate(PLAYERS)])
    out.write_text(json.dumps({"name": "lux_ai_s2", "configuration": {"env_cfg": d["env_cfg"], "seed": 3},
                               "steps": steps}))
    return out


def _cli(args, timeout=120):
    return subprocess.run([sys.executable, "-m", "training.imitation.replays", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_gif_has_one_frame_per_selected_turn(game, tmp_path):
    path, _ = game
    rep = load_replay(str(path))
    n_obs = len(rep.observations)
    h, w = render.frame_shape(16)
    assert w == 16 * render.default_cell(16) and h > w

    out = tmp_path / "all.gif"
    r = render.render(rep, str(out), progress=False)
    with Image.open(out) as im:
        assert (im.n_frames, im.size) == (n_obs, (w, h))
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB"))
    assert r["frames"] == n_obs and r["turns"][1] == TURNS and r["size"] == (w, h)
    *_, (_, final) = render.iter_observed_states(rep)
    assert np.array_equal(last, render.render_frame(final))  # the GIF holds exactly the drawn pixels

    out = tmp_path / "every5.gif"
    r = render.render(rep, str(out), every=5, start=0, end=30, cell=4, progress=False)
    with Image.open(out) as im:
        assert im.n_frames == 7 and im.size == (64, render.frame_shape(16, 4)[0])
    assert r["turns"] == (0, 30)
    assert not list(tmp_path.glob("*.part*"))


def test_frame_colours_show_the_pieces(game):
    path, _ = game
    rep = load_replay(str(path))
    *_, (_, st) = render.iter_observed_states(rep)
    idx = render.board_indices(st, cell=8)
    assert idx.shape == (128, 128) and idx.dtype == np.uint8
    for k, (units, facs) in enumerate(render.team_arrays(st)):
        for x, y in facs.pos:  # the 3x3 block is mostly the team colour (robots may stand on it)
            block = idx[(y - 1) * 8:(y + 2) * 8, (x - 1) * 8:(x + 2) * 8]
            assert (block == render.FACTORY[k]).mean() > 0.5
        for x, y in units.pos:  # LIGHT and HEAVY both fill the cell's centre
            assert idx[y * 8 + 4, x * 8 + 4] == render.ROBOT[k]
    assert len(render.team_arrays(st)[0][0]) > 0
    rgb = render.render_frame(st, cell=8)
    assert rgb.shape == (*render.frame_shape(16, 8), 3) and rgb.dtype == np.uint8


def test_timeline_final_numbers_match_the_last_observation(game):
    path, result = game
    rep = load_replay(str(path))
    s = render.timeline(rep)
    n = len(rep.observations)
    assert s["turn"].shape == (n,) and s["turn"][-1] == TURNS and s["lichen"].shape == (n, 2)
    # lichen: the engine's own count (play_game, player_0 = scripted) ...
    assert s["lichen"][-1].tolist() == [result["lichen"], result["opp_lichen"]]
    assert s["factories"][-1].tolist() == [result["factories_alive"], result["opp_factories_alive"]]
    # ... and the sum of board lichen over each team's strains in the last observation
    *_, (_, st) = render.iter_observed_states(rep)
    last = json.loads(Path(path).read_text())["observations"][-1]
    for k, p in enumerate(PLAYERS):
        strains = last["teams"][p]["factory_strains"]
        on = np.isin(st.board["lichen_strains"], strains) & (st.board["lichen"] > 0)
        assert s["lichen"][-1, k] == st.board["lichen"][on].sum() and s["lichen_cells"][-1, k] == on.sum()
        facs, units = last["factories"][p].values(), last["units"][p].values()
        assert s["water"][-1, k] == sum(f["cargo"]["water"] for f in facs)
        assert s["ice_held"][-1, k] == sum(f["cargo"]["ice"] for f in facs) + sum(u["cargo"]["ice"] for u in units)
        assert s["heavy"][-1, k] == sum(u["unit_type"] == "HEAVY" for u in units)
        assert s["light"][-1, k] == sum(u["unit_type"] == "LIGHT" for u in units)
    assert s["lichen"][-1, 0] > 0  # the scripted side grows lichen in 40 turns: the check is not vacuous


def test_kaggle_episode_gives_the_same_frames_and_timeline(game, tmp_path):
    path, _ = game
    runner, kaggle = load_replay(str(path)), load_replay(str(_kaggle_episode(path, tmp_path / "ep.json")))
    assert kaggle.fmt == "kaggle"
    a, b = render.timeline(runner), render.timeline(kaggle)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    for rep, name in ((runner, "r.png"), (kaggle, "k.png")):
        render.render(rep, str(tmp_path / name), start=20, end=20, progress=False)
    with Image.open(tmp_path / "r.png") as r, Image.open(tmp_path / "k.png") as k:
        assert np.array_equal(np.asarray(r.convert("RGB")), np.asarray(k.convert("RGB")))


def test_cli_plot_and_png_frame(game, tmp_path):
    path, result = game
    p = _cli(["plot", str(path), f"out={tmp_path / 'tl.png'}"])
    assert p.returncode == 0, p.stderr
    assert f"lichen {result['lichen']} vs {result['opp_lichen']}" in p.stdout
    with Image.open(tmp_path / "tl.png") as im:
        assert im.format == "PNG" and im.size[0] > 600
    p = _cli(["render", str(path), f"out={tmp_path / 'f.png'}", "start=10", "end=10", "cell=8"])
    assert p.returncode == 0, p.stderr
    with Image.open(tmp_path / "f.png") as im:
        assert im.size == (128, render.frame_shape(16, 8)[0]) and getattr(im, "n_frames", 1) == 1


@pytest.mark.parametrize("kind", ["truncated_json", "truncated_xz", "foreign", "unknown_key", "two_frames_png"])
def test_bad_input_is_one_line_and_exit_2(game, tmp_path, kind):
    path, _ = game
    text = Path(path).read_text()
    bad, out, extra = tmp_path / "bad.json", tmp_path / "o.gif", []
    if kind == "truncated_json":
        bad.write_text(text[: len(text) // 2])
    elif kind == "truncated_xz":
        bad = tmp_path / "bad.json.xz"
        bad.write_bytes(lzma.compress(text.encode())[:3000])
    elif kind == "foreign":
        bad.write_text(json.dumps({"name": "lux_ai_s3", "steps": [[{}, {}]] * 3, "configuration": {}}))
    elif kind == "unknown_key":
        bad, extra = path, ["speed=2"]
    else:
        bad, out = path, tmp_path / "o.png"
    p = _cli(["render", str(bad), f"out={out}", *extra])
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert (str(bad) in lines[0]) if kind in ("truncated_json", "truncated_xz", "foreign") else True
    assert not list(tmp_path.glob("o.*"))


def test_test_mode_writes_a_timeline_beside_each_replay_when_asked(tmp_path):
    """train.py mode=test replay_plots=true: one timeline PNG per replay, and its final lichen is the
    game's (the plot's numbers are the replay's)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from PIL import Image

    from training.evaluation.render import timeline
    from training.imitation.replays import load_replay

    root = Path(__file__).resolve().parents[1]
    p = subprocess.run([sys.executable, str(root / "train.py"), "mode=test", "checkpoint=scripted", "opponents=random",
                        "rules=tiny", "max_episode_length=30", "test_seeds=1000110:1000111", "test_workers=1",
                        "progress_bar=false", "replay_plots=true", f"run_dir={tmp_path}"],
                       cwd=root, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    replays = sorted((tmp_path / "replays").glob("*.json"))
    pngs = sorted((tmp_path / "replays").glob("*.png"))
    assert len(replays) == 2 and [x.with_suffix(".json") for x in pngs] == replays
    assert Image.open(pngs[0]).size[0] > 300
    games = json.loads((tmp_path / "results.json").read_text())["report"]["random"]["per_game"]
    for g in games:
        rep = [r for r in replays if f"seed{g['map_seed']}_{g['side']}" in r.name][0]
        s = timeline(load_replay(str(rep)))
        col = 0 if g["side"] == "player_0" else 1
        assert s["lichen"][-1, col] == g["lichen"] and s["lichen"][-1, 1 - col] == g["opp_lichen"]
