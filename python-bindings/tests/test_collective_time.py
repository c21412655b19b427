"""chipmesh._chipmesh.collective_time: one collective priced as the
partitioner prices it (values by hand, see docs/cost-model.md)."""
import pytest

from chipmesh import _chipmesh

MESH = """
topo.mesh @eight {
  topo.chip_kind @x catalog "h100-sxm"
  topo.link_kind @l {bytes_per_s = 3.0e11, latency_s = 2.0e-6, technology = #topo.technology<nvlink>}
  topo.group "node" switched via @l { topo.chips @x x 8 }
}
"""
IDEAL = '{"links": {"l": {"bandwidth_efficiency": 1, "step_latency_s": 0}}}'
GIB = 1024.0 ** 3


def test_ring_all_reduce_by_hand():
    # Ideal links: a ring moves 2(n-1) = 14 slices of S/8 at 300 GB/s,
    # under Simple (full bandwidth), plus its 8.4 us base latency.
    got = _chipmesh.collective_time(MESH, "all_reduce", GIB, calibration=IDEAL)
    assert got["algorithm"] == "ring"
    assert got["protocol"] == "Simple"
    assert got["seconds"] == pytest.approx(14 * (GIB / 8) / 300e9 + 8.4e-6, rel=1e-12)


def test_small_all_reduce_takes_the_tree_under_ll():
    # Default NVLink calibration (2.0 us per LL step, measured; see
    # docs/cost-model.md): tree LL, one step up and one down plus 2 x 2
    # fill levels, 6 x 2.0 us, and the 6.8 us base.
    got = _chipmesh.collective_time(MESH, "all_reduce", 8.0)
    assert (got["algorithm"], got["protocol"]) == ("tree", "LL")
    assert got["seconds"] == pytest.approx(6 * 2.0e-6 + 6.8e-6, abs=1e-9)


def test_group_of_one_and_bad_input():
    assert _chipmesh.collective_time(MESH, "all_gather", 1e6, group=[3])["seconds"] == 0
    with pytest.raises(_chipmesh.Error, match="kind must be all_reduce"):
        _chipmesh.collective_time(MESH, "allreduce", 8.0)
    with pytest.raises(_chipmesh.Error, match="group member 9 is not a chip"):
        _chipmesh.collective_time(MESH, "all_reduce", 8.0, group=[0, 9])
    with pytest.raises(_chipmesh.Error, match="bytes must be in"):
        _chipmesh.collective_time(MESH, "all_reduce", -1.0)
    with pytest.raises(_chipmesh.Error, match="calibration"):
        _chipmesh.collective_time(MESH, "all_reduce", 8.0, calibration="{")


def test_a_member_listed_twice_is_refused():
    with pytest.raises(_chipmesh.Error, match="group member 2 is listed twice"):
        _chipmesh.collective_time(MESH, "all_reduce", 8.0, group=[0, 2, 2])
