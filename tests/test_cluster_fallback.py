"""training/cluster.py without Ray: what a machine without the ``ray`` package sees. Kept out of
tests/test_cluster.py, whose module is skipped where Ray is not installed, which is exactly where
this must run."""

import sys

import pytest


def test_no_ray_falls_back_to_local_with_one_line(monkeypatch):
    from training.cluster import ClusterError, connect

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as where it is not installed
    lines = []
    assert connect("", log=lines.append) is None
    assert len(lines) == 1 and "local backend" in lines[0]
    with pytest.raises(ClusterError, match="not installed"):
        connect("auto")
