"""See a game without a browser or the internet: replay frames (GIF/MP4/PNG) and a timeline figure.

    python -m training.imitation.replays render REPLAY out=FILE.gif|.mp4|.png [every=N] [start=T] [end=T] [fps=10] [cell=PX]
    python -m training.imitation.replays plot REPLAY out=FILE.png

Both read the two replay formats of :mod:`training.replay_io` (luxai-s2 runner JSON and Kaggle
episode JSON; plain, ``.gz`` or ``.xz``, detected by content) with
:func:`training.replay_io.load_replay` and rebuild the board turn by turn with
:class:`agent.obs.GameState` (which applies the change observations).

**Frames** are drawn as palette images with numpy (one palette index per pixel, no matplotlib
patches) and written with Pillow (GIF, PNG) or matplotlib's ``FFMpegWriter`` (MP4, only when an
``ffmpeg`` executable is on ``PATH``). A frame is a caption band over the board:

* ground: sand, darker with more rubble (16 shades over ``0..MAX_RUBBLE``); ice cyan, ore amber;
* lichen: the owner team's colour (the team whose ``factory_strains`` holds the cell's strain),
  darker with more lichen (8 shades over ``1..MAX_LICHEN_PER_TILE``); lichen of a strain nobody
  lists is grey-green;
* factories: 3x3 blocks of the team colour with a black border;
* robots: dark team colour with a white outline, LIGHT a small square, HEAVY most of the cell;
* caption: the turn (``real_env_steps``, negative during bidding and placement, "night" at night),
  then per team: lichen (total lichen value of its strains) and lichen cells, water in its
  factories, factories alive, LIGHT and HEAVY robots.

player_0 is blue, player_1 is red. Frame selection: the observations whose turn ``t`` satisfies
``start <= t <= end`` and ``(t - start) % every == 0`` (``start`` defaults to the first
observation's turn, ``end`` to the last). A GIF keeps all its frames in memory while it is written
(about ``W * H`` bytes a frame: 0.29 MB at 64x64 with the default 8-pixel cells); use ``every=`` or
an MP4 for whole games on small machines.

**Timeline** (:func:`timeline`, :func:`plot_timeline`): per team and observation, lichen, lichen
cells, factories alive, water in factories, ice and ore *held* (robot cargo plus factory stock: the
replays do not record what was dug), LIGHT and HEAVY robots.

Errors: an unreadable or foreign replay raises :class:`training.replay_io.ReplayError`; bad keys or
values, an unknown output type, an MP4 without ffmpeg, an empty frame selection or an unwritable
output raise ``ValueError`` (the CLI prints the one line and exits with code 2, writing nothing).
"""

import functools
import json
import os
import time

import numpy as np

from agent.obs import PLAYERS, GameState, ObservationError, isin_int

# ---------------------------------------------------------------------------------------- palette
TEAM_RGB = ((40, 95, 200), (205, 55, 40))  # factories; player_0 blue, player_1 red
ROBOT_RGB = ((10, 30, 110), (110, 15, 5))
N_RUBBLE, N_LICHEN = 16, 8
BG, INK, WHITE, ICE, ORE, LICHEN_OTHER = 0, 1, 2, 3, 4, 5
FACTORY = (6, 7)
ROBOT = (8, 9)
RUBBLE0 = 16
LICHEN0 = (RUBBLE0 + N_RUBBLE, RUBBLE0 + N_RUBBLE + N_LICHEN)


def _ramp(a, b, n):
    t = np.linspace(0.0, 1.0, n)[:, None]
    return np.round((1 - t) * np.asarray(a, float) + t * np.asarray(b, float)).astype(np.uint8)


def _palette():
    pal = np.zeros((256, 3), np.uint8)
    pal[BG], pal[INK], pal[WHITE] = (250, 250, 247), (20, 20, 20), (255, 255, 255)
    pal[ICE], pal[ORE], pal[LICHEN_OTHER] = (95, 215, 230), (225, 160, 30), (130, 160, 120)
    pal[list(FACTORY)] = TEAM_RGB
    pal[list(ROBOT)] = ROBOT_RGB
    pal[RUBBLE0:RUBBLE0 + N_RUBBLE] = _ramp((238, 228, 205), (115, 102, 88), N_RUBBLE)
    pal[LICHEN0[0]:LICHEN0[0] + N_LICHEN] = _ramp((195, 215, 245), (85, 135, 225), N_LICHEN)
    pal[LICHEN0[1]:LICHEN0[1] + N_LICHEN] = _ramp((248, 208, 198), (225, 110, 90), N_LICHEN)
    pal.flags.writeable = False
    return pal


PALETTE = _palette()
"""uint8 (256, 3): RGB of every palette index the frames use (unused entries are black)."""

OUT_TYPES = (".gif", ".mp4", ".png")


def default_cell(map_size):
    """Pixels per board cell when none is given: ``max(2, 512 // map_size)`` (8 at 64x64, 32 at 16x16)."""
    return max(2, 512 // int(map_size))


# ---------------------------------------------------------------------------------------- states
def iter_observed_states(replay, player="player_0"):
    """Yield ``(i, state)`` for every observation ``i`` of the replay, ``0..len(replay)`` inclusive.

    ``state`` is one :class:`agent.obs.GameState` (updated in place, seen by ``player``; the board
    is the full board either way) after ``replay.observations[i]``, including the final one.

    Raises:
        training.replay_io.ReplayError: an observation the GameState refuses (names file and step).
    """
    from training.replay_io import ReplayError

    state = GameState(replay.env_cfg, player)
    for i, obs in enumerate(replay.observations):
        try:
            state.update(obs, step=i)
        except ObservationError as e:
            raise ReplayError(f"{replay.path}: observation {i}: {e}") from None
        yield i, state


def _first_turn(replay):
    obs = replay.observations[0]
    obs = json.loads(obs) if isinstance(obs, (str, bytes)) else obs
    return int(obs["real_env_steps"])


def team_arrays(state):
    """``[(units, factories), ...]`` for player_0 then player_1 (:class:`agent.obs.UnitArrays`,
    :class:`agent.obs.FactoryArrays`), whichever player ``state`` is seen by."""
    mine, theirs = (state.my_units, state.my_factories), (state.opp_units, state.opp_factories)
    return [mine, theirs] if state.player == PLAYERS[0] else [theirs, mine]


def strain_owner(state):
    """int64 (S, S) indexed ``[x, y]``: 0 or 1 for the team whose ``factory_strains`` holds the
    cell's lichen strain, -1 where there is no strain or nobody lists it."""
    strains = state.board["lichen_strains"]
    owner = np.full(strains.shape, -1, np.int64)
    for k, p in enumerate(PLAYERS):
        ids = np.asarray((state.teams.get(p) or {}).get("factory_strains") or [], np.int64)
        if ids.size:
            owner[isin_int(strains, ids) & (strains >= 0)] = k
    return owner


def summary(state):
    """Per-team numbers of one state, each an int64 array of shape (2,) (player_0, player_1).

    Returns:
        dict: ``lichen`` (total lichen value on the team's strains, the engine's score),
        ``lichen_cells`` (cells with lichen > 0 of those strains), ``factories`` (alive),
        ``water``, ``metal`` (factory stock, units), ``ice_held``, ``ore_held`` (robot cargo plus
        factory stock, units), ``light``, ``heavy`` (robots), ``power`` (robots plus factories).
    """
    lichen = state.board["lichen"]
    owner = strain_owner(state)
    out = {k: np.zeros(2, np.int64) for k in ("lichen", "lichen_cells", "factories", "water", "metal", "ice_held",
                                               "ore_held", "light", "heavy", "power")}
    for k, (units, facs) in enumerate(team_arrays(state)):
        mine = (owner == k) & (lichen > 0)
        out["lichen"][k] = lichen[mine].sum()
        out["lichen_cells"][k] = mine.sum()
        out["factories"][k] = len(facs)
        out["water"][k] = facs.cargo[:, 2].sum()
        out["metal"][k] = facs.cargo[:, 3].sum()
        out["ice_held"][k] = facs.cargo[:, 0].sum() + units.cargo[:, 0].sum()
        out["ore_held"][k] = facs.cargo[:, 1].sum() + units.cargo[:, 1].sum()
        out["heavy"][k] = units.heavy.sum()
        out["light"][k] = len(units) - out["heavy"][k]
        out["power"][k] = units.power.sum() + facs.power.sum()
    return out


# ---------------------------------------------------------------------------------------- frames
@functools.lru_cache(maxsize=8)
def _robot_templates(map_size, cell):
    """uint8 (S*cell, S*cell) each for LIGHT and HEAVY: 0 outside, 1 outline, 2 fill (tiled per cell)."""
    tpls = []
    for margin in (cell // 4 if cell >= 6 else cell // 3, cell // 10):
        t = np.zeros((cell, cell), np.uint8)
        lo, hi = margin, cell - margin
        t[lo:hi, lo:hi] = 1
        if hi - lo >= 4:
            t[lo + 1:hi - 1, lo + 1:hi - 1] = 2
        else:
            t[lo:hi, lo:hi] = 2
        tile = np.tile(t, (map_size, map_size))
        tile.flags.writeable = False
        tpls.append(tile)
    return tuple(tpls)


def board_indices(state, cell=None):
    """The board of ``state`` as palette indices.

    Args:
        state (agent.obs.GameState): a state with a board.
        cell (int | None): pixels per cell (:func:`default_cell` when None).

    Returns:
        np.ndarray: uint8 (S*cell, S*cell), row = y, column = x; RGB is ``PALETTE[result]``.
    """
    b, cfg = state.board, state.cfg
    S = cfg.map_size
    cell = cell or default_cell(S)
    rubble = np.clip(b["rubble"], 0, cfg.MAX_RUBBLE)
    idx = RUBBLE0 + rubble * N_RUBBLE // (int(cfg.MAX_RUBBLE) + 1)
    idx[b["ice"] > 0] = ICE
    idx[b["ore"] > 0] = ORE
    lichen, owner = b["lichen"], strain_owner(state)
    level = np.clip((lichen - 1) * N_LICHEN // int(cfg.MAX_LICHEN_PER_TILE), 0, N_LICHEN - 1)
    has = lichen > 0
    idx[has & (owner < 0)] = LICHEN_OTHER
    for k in (0, 1):
        m = has & (owner == k)
        idx[m] = LICHEN0[k] + level[m]
    img = np.repeat(np.repeat(idx.T.astype(np.uint8), cell, 0), cell, 1)
    codes = np.zeros((S, S), np.uint8)  # [y, x]: 1 + team for LIGHT, 3 + team for HEAVY
    for k, (units, facs) in enumerate(team_arrays(state)):
        for x, y in facs.pos:
            r0, c0 = max(y - 1, 0) * cell, max(x - 1, 0) * cell
            r1, c1 = min(y + 2, S) * cell, min(x + 2, S) * cell
            img[r0:r1, c0:c1] = INK
            img[r0 + 1:r1 - 1, c0 + 1:c1 - 1] = FACTORY[k]
        if len(units):
            codes[units.pos[:, 1], units.pos[:, 0]] = np.where(units.heavy, 3, 1) + k
    if codes.any():
        code_px = np.repeat(np.repeat(codes, cell, 0), cell, 1)
        for kind, tpl in enumerate(_robot_templates(S, cell)):
            for k in (0, 1):
                m = code_px == 1 + 2 * kind + k
                img[m & (tpl == 1)] = WHITE
                img[m & (tpl == 2)] = ROBOT[k]
    return img


@functools.lru_cache(maxsize=4)
def _font(size):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _caption_lines(state):
    s = summary(state)
    t = state.real_env_steps
    when = f"turn {t}" + ("" if state.is_day() else "  (night)") if t >= 0 else f"turn {t} (bidding, factory placement)"
    teams = [f"P{k}  lichen {s['lichen'][k]} ({s['lichen_cells'][k]} cells)   water {s['water'][k]}   "
             f"factories {s['factories'][k]}   robots {s['light'][k]} L + {s['heavy'][k]} H" for k in (0, 1)]
    return [(when, INK), (teams[0], ROBOT[0]), (teams[1], ROBOT[1])]


def _caption_layout(width):
    size = int(np.clip(width // 42, 9, 16))
    return size, size + 4, 3 * (size + 4) + 6  # font size, line pitch, band height (pixels)


def frame_shape(map_size, cell=None):
    """``(H, W)`` in pixels of a frame: the board is ``S * cell`` square, the caption band above it."""
    cell = cell or default_cell(map_size)
    w = map_size * cell
    return _caption_layout(w)[2] + w, w


def frame_image(state, cell=None):
    """One frame (caption band over the board) as a Pillow ``"P"`` image with :data:`PALETTE`.

    Returns:
        PIL.Image.Image: mode ``"P"``, size ``(W, H)`` of :func:`frame_shape`.
    """
    from PIL import Image, ImageDraw

    board = board_indices(state, cell)
    width = board.shape[1]
    size, pitch, band = _caption_layout(width)
    arr = np.full((band + board.shape[0], width), BG, np.uint8)
    arr[band:] = board
    img = Image.fromarray(arr, "P")
    img.putpalette(PALETTE.tobytes())
    draw = ImageDraw.Draw(img)
    draw.fontmode = "1"  # no anti-aliasing: every pixel stays a palette colour
    font = _font(size)
    for i, (text, ink) in enumerate(_caption_lines(state)):
        draw.text((4, 3 + i * pitch), text, fill=ink, font=font)
    return img


def render_frame(state, cell=None):
    """One frame as RGB pixels.

    Returns:
        np.ndarray: uint8 (H, W, 3) of :func:`frame_shape`.
    """
    return PALETTE[np.asarray(frame_image(state, cell))]


def _selected(replay, start, end, every):
    """Yield ``(turn, state)`` for the frames of the selection (see the module docstring)."""
    for _, state in iter_observed_states(replay):
        t = state.real_env_steps
        if t > end:
            return
        if t >= start and (t - start) % every == 0:
            yield t, state


def check_out(out, kinds=OUT_TYPES):
    """The lower-case extension of ``out`` after checking it is one of ``kinds``; ``.mp4`` also needs
    ffmpeg (``ValueError`` otherwise, one line)."""
    ext = os.path.splitext(str(out))[1].lower()
    if ext not in kinds:
        raise ValueError(f"out={out}: the file name must end with one of {', '.join(kinds)}")
    if ext == ".mp4":
        from matplotlib import animation

        if not animation.writers.is_available("ffmpeg"):
            raise ValueError(f"out={out}: writing .mp4 needs ffmpeg on PATH (not found); write a .gif instead")
    return ext


def render(replay, out, every=1, start=None, end=None, cell=None, fps=10, progress=True):
    """Draw the selected observations of ``replay`` and write them to ``out``.

    Args:
        replay (training.replay_io.Replay): from :func:`training.replay_io.load_replay`.
        out (str): ``.gif`` (Pillow, ``1000 / fps`` ms a frame, looping), ``.mp4`` (matplotlib
            FFMpegWriter, needs ffmpeg) or ``.png`` (exactly one selected frame). Written through
            ``NAME.part.EXT`` and renamed at the end, so a failure leaves no file.
        every (int): keep one turn in ``every`` (>= 1).
        start, end (int | None): first and last turn (``real_env_steps``, inclusive); None = the
            replay's first / last observation.
        cell (int | None): pixels per board cell (:func:`default_cell` when None).
        fps (float): frames per second of GIF and MP4.
        progress (bool): a tqdm bar on stderr (only when stderr is a terminal).

    Returns:
        dict: ``frames`` (int), ``size`` ``(W, H)`` pixels, ``turns`` ``(first, last)`` rendered,
        ``seconds`` (wall time, loading excluded), ``observations`` (observations processed).

    Raises:
        ValueError: bad ``every``/``cell``/``fps``, unknown extension, MP4 without ffmpeg, no frame
            selected, a ``.png`` with more than one frame, or ``out`` not writable.
        training.replay_io.ReplayError: an observation the GameState refuses.
    """
    from tqdm import tqdm

    ext = check_out(out)
    every, fps = int(every), float(fps)
    if every < 1 or fps <= 0 or (cell is not None and int(cell) < 1):
        raise ValueError(f"every={every}, fps={fps}, cell={cell}: every and cell must be >= 1 and fps > 0")
    first = _first_turn(replay)
    last = first + len(replay.observations) - 1
    start = first if start is None else int(start)
    end = last if end is None else int(end)
    S = int(replay.env_cfg["map_size"])
    cell = int(cell) if cell is not None else default_cell(S)
    h, w = frame_shape(S, cell)
    t0 = time.perf_counter()
    n_obs = max(0, min(end, last) - first + 1)
    bar = tqdm(total=n_obs, unit="turn", desc=os.path.basename(str(out)), disable=None if progress else True,
               leave=False)
    done = {"frames": 0, "turns": [None, None], "obs": 0}

    def frames():
        prev = first - 1
        for t, state in _selected(replay, start, end, every):
            bar.update(t - prev)
            prev = t
            done["frames"] += 1
            done["turns"][0] = t if done["turns"][0] is None else done["turns"][0]
            done["turns"][1] = t
            yield frame_image(state, cell)
        done["obs"] = prev - first + 1

    gen = frames()
    part = "{0}.part{1}".format(*os.path.splitext(str(out)))  # keeps the extension (ffmpeg picks the container by it)
    try:
        head = next(gen, None)
        if head is None:
            raise ValueError(f"no frame selected: turns {start}..{end} every {every}, but the replay has turns "
                             f"{first}..{last}")
        os.makedirs(os.path.dirname(os.path.abspath(str(out))), exist_ok=True)
        if ext == ".png":
            if next(gen, None) is not None:
                raise ValueError(f"out={out}: a .png holds one frame; give start=T end=T (or write a .gif)")
            head.save(part, format="PNG", optimize=True)
        elif ext == ".gif":
            head.save(part, format="GIF", save_all=True, append_images=gen, duration=max(20, round(1000 / fps)),
                      loop=0)
        else:
            _write_mp4(head, gen, part, fps)
        os.replace(part, out)
    except OSError as e:
        raise ValueError(f"out={out}: cannot write ({e.strerror or e})") from None
    finally:
        bar.close()
        if os.path.exists(part):
            os.remove(part)
    return dict(frames=done["frames"], size=(w, h), turns=tuple(done["turns"]),
                seconds=time.perf_counter() - t0, observations=done["obs"])


def _write_mp4(head, rest, path, fps):
    from matplotlib import animation
    from matplotlib.figure import Figure

    rgb = PALETTE[np.asarray(head)]
    h, w = rgb.shape[:2]
    dpi = 100
    fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    im = ax.imshow(rgb, interpolation="nearest")
    writer = animation.FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])
    with writer.saving(fig, path, dpi):  # ffmpeg guesses the container from the name: give it ".mp4"
        writer.grab_frame()
        for frame in rest:
            im.set_data(PALETTE[np.asarray(frame)])
            writer.grab_frame()


# ---------------------------------------------------------------------------------------- timeline
SERIES = ("lichen", "lichen_cells", "factories", "water", "metal", "ice_held", "ore_held", "light", "heavy",
          "power")


def timeline(replay):
    """Per-team numbers of every observation of the replay (the series of the ``plot`` figure).

    Returns:
        dict[str, np.ndarray]: ``turn`` int64 (N,) (``real_env_steps``, N = number of observations,
        the final one included), and for each key of :func:`summary` an int64 (N, 2) array,
        column 0 = player_0, 1 = player_1.

    Raises:
        training.replay_io.ReplayError: an observation the GameState refuses.
    """
    n = len(replay.observations)
    out = {"turn": np.zeros(n, np.int64), **{k: np.zeros((n, 2), np.int64) for k in SERIES}}
    for i, state in iter_observed_states(replay):
        out["turn"][i] = state.real_env_steps
        for k, v in summary(state).items():
            out[k][i] = v
    return out


PANELS = (("lichen", "lichen (score)"), ("lichen_cells", "lichen cells"), ("factories", "factories alive"),
          ("water", "water in factories"), ("ice_held", "ice held (cargo + factory)"),
          ("ore_held", "ore held (cargo + factory)"), ("light", "LIGHT robots"), ("heavy", "HEAVY robots"))


def plot_timeline(series, out, title=None, dpi=80):
    """Write the timeline figure: one small panel per entry of :data:`PANELS`, both teams in each.

    Args:
        series (dict): :func:`timeline` output.
        out (str): image file; the type follows the extension (``.png``, ``.svg``, ``.pdf``).
        title (str | None): figure title.
        dpi (int): resolution of raster output (the figure is 12 x 5.4 inches).

    Raises:
        ValueError: ``out`` cannot be written or its type is unknown.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 5.4), dpi=dpi, layout="constrained")
    axes = fig.subplots(2, 4, sharex=True)
    colours = [np.asarray(c) / 255 for c in TEAM_RGB]
    t = series["turn"]
    for ax, (key, label) in zip(axes.flat, PANELS):
        for k in (0, 1):
            ax.plot(t, series[key][:, k], color=colours[k], lw=1.4, label=f"player_{k}: {series[key][-1, k]}")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=7, loc="upper left", frameon=False, handlelength=1.2)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("turn", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(str(out))), exist_ok=True)
        fig.savefig(out)
    except (OSError, ValueError) as e:
        raise ValueError(f"out={out}: cannot write the figure ({e})") from None


# ---------------------------------------------------------------------------------------- CLI
def _int(kw, key, default):
    if key not in kw:
        return default
    try:
        return int(kw[key])
    except ValueError:
        raise ValueError(f"{key}={kw[key]!r} is not an integer") from None


def command(name, files, kw):
    """``python -m training.imitation.replays render|plot``: run one subcommand; returns its summary line.

    Args:
        name (str): ``"render"`` or ``"plot"``.
        files (list[str]): exactly one replay file.
        kw (dict[str, str]): the ``key=value`` words (see :data:`training.imitation.replays.USAGE`).

    Raises:
        ValueError: unknown keys, bad values, not exactly one file, or the errors of :func:`render`
            and :func:`plot_timeline`; ``training.replay_io.ReplayError`` (a ValueError) for bad input.
    """
    from training.replay_io import load_replay

    allowed = {"render": {"out", "every", "start", "end", "fps", "cell", "max_episode_length"},
               "plot": {"out", "max_episode_length"}}[name]
    unknown = set(kw) - allowed
    if unknown:
        raise ValueError(f"{name}: unknown keys {sorted(unknown)} (known: {', '.join(sorted(allowed))})")
    if "out" not in kw:
        raise ValueError(f"{name}: give out=FILE" + (".gif|.mp4|.png" if name == "render" else ".png"))
    if len(files) != 1:
        raise ValueError(f"{name}: give exactly one replay file (got {len(files)})")
    out = kw["out"]
    if name == "render":
        check_out(out)  # before the (slow) load
        opts = dict(every=_int(kw, "every", 1), start=_int(kw, "start", None), end=_int(kw, "end", None),
                    cell=_int(kw, "cell", None))
        try:
            opts["fps"] = float(kw.get("fps", 10))
        except ValueError:
            raise ValueError(f"fps={kw['fps']!r} is not a number") from None
        replay = load_replay(files[0], max_episode_length=_int(kw, "max_episode_length", 1000))
        r = render(replay, out, **opts)
        return (f"{out}: {r['frames']} frame{'s' * (r['frames'] != 1)} of {r['size'][0]}x{r['size'][1]} px, turns "
                f"{r['turns'][0]}..{r['turns'][1]}, {r['seconds']:.2f} s after loading the replay "
                f"({1000 * r['seconds'] / r['frames']:.1f} ms a frame)")
    check_out(out, (".png", ".svg", ".pdf"))
    replay = load_replay(files[0], max_episode_length=_int(kw, "max_episode_length", 1000))
    s = timeline(replay)
    plot_timeline(s, out, title=os.path.basename(files[0]))
    return (f"{out}: turn {s['turn'][-1]}: lichen {s['lichen'][-1, 0]} vs {s['lichen'][-1, 1]}, factories "
            f"{s['factories'][-1, 0]} vs {s['factories'][-1, 1]}, robots {s['light'][-1, 0]}L+{s['heavy'][-1, 0]}H vs "
            f"{s['light'][-1, 1]}L+{s['heavy'][-1, 1]}H")
