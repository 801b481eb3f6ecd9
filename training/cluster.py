"""The Ray backend: test-mode games, BC/DAgger collection games and sweep runs as Ray tasks, and PPO
environments as Ray actors (``vec_env=ray``), on this machine or on a cluster.

    python train.py mode=test checkpoint=W opponents=scripted backend=ray              # local Ray
    python train.py mode=test checkpoint=W opponents=scripted backend=ray ray_address=HEAD:6379
    python -m training.imitation.bc collect teacher=scripted games=64 backend=ray ray_address=auto out=...
    python train.py sweep=sweeps/example.json index=0:8 backend=ray ray_address=auto
    python train.py n_envs=16 vec_env=ray ray_address=auto

``ray_address``: empty starts a Ray instance on this machine for the run; ``auto`` joins the cluster
that ``ray start --head`` started on this machine; ``HOST:PORT`` joins that head. An address
nothing listens at is a :class:`ClusterError` (the command lines print it in one line and exit 2
before writing anything). When Ray cannot start at all with an empty address (not installed, no
shared memory...), the work runs on the local backend after one line saying why.

Ray 2.60 turns token authentication on for a head started on a machine that has a token
(``~/.ray/auth_token``, written by the first local ``ray.init``): copy that file to every node and
to the driver's machine (``ray get-auth-token``), or set ``RAY_AUTH_MODE=disabled`` everywhere on a
private network. :func:`connect` sends the token whenever one is present.

Every node needs the same luxkit checkout at the same path, set up by ``scripts/setup.sh`` (the
workers import ``agent``, ``training`` and ``wrappers`` from the editable install) and started with
``.venv/bin/ray``. Results and datasets are written by the driver; a sweep run also writes its run
folder on the node that trained it.

A task whose worker process or node dies (``WorkerCrashedError``, ``NodeDiedError``...) is retried
once and reported in one line; a second death leaves that item out (``None`` in
:func:`map_tasks`), reported. An exception raised by the task's own code is not retried: it is
re-raised in the driver, as the local backend would.
"""

import os
import socket
import sys

import numpy as np


class ClusterError(RuntimeError):
    """Ray cannot be reached at the given ``ray_address``; the message names it."""


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def _first_line(e):
    """The first line of an exception's message, else its type name."""
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def absolute_spec(spec):
    """A policy spec with its path made absolute: a weights file or ``bot:PATH`` (Ray workers need
    not share the driver's working directory); ``random``, ``scripted``, "" and anything that is not
    an existing file or folder (an agent folder, agent.player.agent_folder_config) are returned unchanged."""
    if spec.startswith("bot:"):
        return "bot:" + os.path.abspath(spec[4:])
    return os.path.abspath(spec) if spec and (os.path.isfile(spec) or os.path.isdir(spec)) else spec


def _check_reachable(address, timeout=5.0):
    """Raise ClusterError unless something accepts TCP connections at ``HOST:PORT``."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ClusterError(f"ray_address={address!r}: expected auto or HOST:PORT (e.g. 10.0.0.5:6379)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as e:
        raise ClusterError(f"ray_address={address}: no Ray head answers there ({e.strerror or e}); "
                           f"start one with 'ray start --head --port {port}'") from None


def connect(address="", log=_log):
    """Connect this process to Ray; returns the ``ray`` module, or None for the local backend.

    Args:
        address (str): "" = start a local Ray instance (all cores of this machine); ``auto`` = the
            cluster started on this machine with ``ray start --head``; ``HOST:PORT`` = that head.

    Returns:
        module | None: ``ray``, initialised (an existing connection is reused); None when
        ``address`` is empty and Ray cannot start (one line through ``log`` says why).

    Raises:
        ClusterError: ``address`` is given but no Ray head is reachable there, or Ray is missing.
    """
    if address and "RAY_AUTH_MODE" not in os.environ and (
            os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
            or os.path.isfile(os.path.join(os.path.expanduser("~"), ".ray", "auth_token"))):
        # 'ray start --head' turns token authentication on when this machine has a token, but a
        # driver joining it sends the token only when told (read when ray is imported); a head
        # without authentication ignores it
        os.environ["RAY_AUTH_MODE"] = "token"
    try:
        import ray
    except ImportError as e:
        if address:
            raise ClusterError(f"ray_address={address}: Ray is not installed ({e}); run scripts/setup.sh") from None
        log(f"ray: not installed ({e}); running on the local backend")
        return None
    if ray.is_initialized():
        return ray
    kw = dict(logging_level="ERROR", log_to_driver=False, configure_logging=True)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address:
        if address != "auto":
            _check_reachable(address)
        try:
            ray.init(address=address, **kw)
        except Exception as e:  # ConnectionError for auto without a head; anything Ray raises
            raise ClusterError(f"ray_address={address}: cannot join the Ray cluster: {_first_line(e)}") from None
        return ray
    try:
        ray.init(include_dashboard=False, **kw)
    except Exception as e:
        log(f"ray: cannot start a local Ray instance ({type(e).__name__}: {_first_line(e)}); running on the local backend")
        return None
    return ray


def cluster_cpus(ray):
    """CPUs of the connected cluster (float, >= 1)."""
    return max(1.0, float(ray.cluster_resources().get("CPU", 1.0)))


def _death_errors(ray):
    names = ("WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "ObjectLostError", "OwnerDiedError",
             "ActorDiedError", "RaySystemError")
    return tuple(getattr(ray.exceptions, n) for n in names if hasattr(ray.exceptions, n))


def map_tasks(ray, fn, items, num_cpus=1.0, describe=str, retries=1, log=_log):
    """Run ``fn(item)`` for every item as a Ray task; yield ``(index, result)`` as they finish.

    A task whose worker or node dies is resubmitted ``retries`` times (one line each); after that
    it yields ``(index, None)`` (one line). An exception of ``fn`` itself propagates.

    Args:
        ray: the module returned by :func:`connect`.
        fn: a picklable function of one item (module-level, or a closure cloudpickle can carry).
        items (list): the task arguments.
        num_cpus (float): CPUs reserved per task.
        describe: item -> short text for the report lines.
    """
    remote = ray.remote(num_cpus=num_cpus, max_retries=0)(fn)
    dead = _death_errors(ray)
    pending = {remote.remote(it): (i, 0) for i, it in enumerate(items)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        ref = done[0]
        i, attempt = pending.pop(ref)
        try:
            result = ray.get(ref)
        except dead as e:
            what = f"{describe(items[i])}: its Ray worker died ({type(e).__name__})"
            if attempt < retries:
                log(f"{what}; retrying it once")
                pending[remote.remote(items[i])] = (i, attempt + 1)
                continue
            log(f"{what} again; left out")
            result = None
        yield i, result


class _EnvWorker:
    """One environment inside a Ray actor (the commands of SB3's SubprocVecEnv worker)."""

    def __init__(self, env_fn):
        from stable_baselines3.common.vec_env.patch_gym import _patch_env

        self.env = _patch_env(env_fn())
        self.reset_info = {}

    def spaces(self):
        return self.env.observation_space, self.env.action_space

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        done = terminated or truncated
        info["TimeLimit.truncated"] = truncated and not terminated
        if done:  # as SubprocVecEnv: keep the final observation, then reset
            info["terminal_observation"] = obs
            obs, self.reset_info = self.env.reset()
        return obs, reward, done, info, self.reset_info

    def reset(self, seed, options):
        return self.env.reset(seed=seed, **({"options": options} if options else {}))

    def render(self):
        return self.env.render()

    def env_method(self, name, args, kwargs):
        return self.env.get_wrapper_attr(name)(*args, **kwargs)

    def get_attr(self, name):
        return self.env.get_wrapper_attr(name)

    def has_attr(self, name):
        try:
            self.env.get_wrapper_attr(name)
            return True
        except AttributeError:
            return False

    def set_attr(self, name, value):
        setattr(self.env, name, value)

    def is_wrapped(self, wrapper_class):
        from stable_baselines3.common.env_util import is_wrapped

        return is_wrapped(self.env, wrapper_class)

    def close(self):
        self.env.close()


def make_ray_vec_env(ray, env_fns, num_cpus=None):
    """An SB3 ``VecEnv`` whose environments live in Ray actors (``vec_env=ray``).

    The same commands and auto-reset as ``SubprocVecEnv`` (``terminal_observation`` and
    ``TimeLimit.truncated`` in the infos), so the same seeds give the same observations, masks and
    rewards; ``len(env_fns)`` may exceed this machine's cores when the cluster has more.

    Args:
        ray: the module returned by :func:`connect`.
        env_fns (list): environment constructors (cloudpickled to the actors).
        num_cpus (float | None): CPUs reserved per actor; None = min(1, cluster CPUs / n_envs), so
            that every actor can be placed.
    """
    from stable_baselines3.common.vec_env import VecEnv
    from stable_baselines3.common.vec_env.subproc_vec_env import _stack_obs

    n = len(env_fns)
    per = num_cpus if num_cpus is not None else min(1.0, cluster_cpus(ray) / n)
    Actor = ray.remote(num_cpus=per, max_restarts=0)(_EnvWorker)

    class RayVecEnv(VecEnv):
        def __init__(self):
            self.actors = [Actor.remote(fn) for fn in env_fns]
            self.waiting, self.closed, self._refs = False, False, None
            obs_space, act_space = ray.get(self.actors[0].spaces.remote())
            super().__init__(n, obs_space, act_space)

        def step_async(self, actions):
            self._refs = [a.step.remote(act) for a, act in zip(self.actors, actions)]
            self.waiting = True

        def step_wait(self):
            results = ray.get(self._refs)
            self.waiting, self._refs = False, None
            obs, rews, dones, infos, self.reset_infos = zip(*results)
            return _stack_obs(obs, self.observation_space), np.stack(rews), np.stack(dones), infos

        def reset(self):
            results = ray.get([a.reset.remote(self._seeds[i], self._options[i]) for i, a in enumerate(self.actors)])
            obs, self.reset_infos = zip(*results)
            self._reset_seeds()
            self._reset_options()
            return _stack_obs(obs, self.observation_space)

        def close(self):
            if self.closed:
                return
            if self.waiting:
                ray.get(self._refs)
            ray.get([a.close.remote() for a in self.actors])
            for a in self.actors:
                ray.kill(a)
            self.closed = True

        def get_images(self):
            return ray.get([a.render.remote() for a in self.actors])

        def _targets(self, indices):
            return [self.actors[i] for i in self._get_indices(indices)]

        def has_attr(self, attr_name):
            return all(ray.get([a.has_attr.remote(attr_name) for a in self.actors]))

        def get_attr(self, attr_name, indices=None):
            return ray.get([a.get_attr.remote(attr_name) for a in self._targets(indices)])

        def set_attr(self, attr_name, value, indices=None):
            ray.get([a.set_attr.remote(attr_name, value) for a in self._targets(indices)])

        def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
            return ray.get([a.env_method.remote(method_name, method_args, method_kwargs) for a in self._targets(indices)])

        def env_is_wrapped(self, wrapper_class, indices=None):
            return ray.get([a.is_wrapped.remote(wrapper_class) for a in self._targets(indices)])

    return RayVecEnv()
