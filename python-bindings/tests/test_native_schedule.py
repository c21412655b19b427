"""The torch runtime cuts tensor-parallel blocks and orders pipeline ops with
the C++ functions the partitioner and materializer use (apportionShares,
pipelineOpAt), through the native module: checked here by hand."""

import pytest

import chipmesh
from chipmesh import _chipmesh as native


def test_apportion_shares_by_hand():
    assert native.apportion_shares(128, [3.0, 1.0]) == [96, 32]
    # 10 / 3 = 3.33 each: the one left over goes to the lowest rank.
    assert native.apportion_shares(10, [1.0, 1.0, 1.0]) == [4, 3, 3]
    # Quotas 4.95 and 0.05: at least one each.
    assert native.apportion_shares(5, [100.0, 1.0]) == [4, 1]
    # Quotas 2.94, 0.03, 0.03: the minimum of one pushes the first back to 1.
    assert native.apportion_shares(3, [100.0, 1.0, 1.0]) == [1, 1, 1]
    # Fewer features than members.
    assert native.apportion_shares(2, [1.0, 1.0, 1.0]) is None
    with pytest.raises(chipmesh.Error, match="shares must be positive"):
        native.apportion_shares(8, [1.0, 0.0])


def F(i):
    return (False, i)


def B(i):
    return (True, i)


def test_schedule_order_by_hand():
    # 1F1B, 2 stages, 3 micro-batches: stage 0 warms up with one forward.
    assert native.schedule_order("1f1b", True, 2, 0, 3) == [F(0), F(1), B(0), F(2), B(1), B(2)]
    assert native.schedule_order("1f1b", True, 2, 1, 3) == [F(0), B(0), F(1), B(1), F(2), B(2)]
    assert native.schedule_order("gpipe", True, 2, 0, 3) == [F(0), F(1), F(2), B(0), B(1), B(2)]
    # Inference runs forwards only, whatever the schedule.
    assert native.schedule_order("1f1b", False, 4, 1, 2) == [F(0), F(1)]
    # More warm-up than micro-batches: all forwards, then all backwards.
    assert native.schedule_order("1f1b", True, 4, 0, 2) == [F(0), F(1), B(0), B(1)]
    with pytest.raises(chipmesh.Error, match="schedule must be 'gpipe' or '1f1b', got 'zb'"):
        native.schedule_order("zb", True, 2, 0, 3)
    with pytest.raises(chipmesh.Error, match="stage 2 of a 2-stage pipeline"):
        native.schedule_order("gpipe", True, 2, 2, 3)
