"""chipmesh-mpirun's result check and report reader, called directly (pure
Python, no MPI): every value is finite, every result holds as many values as
its sizes say, every reference row is covered, and every prediction in the
report is a finite number >= 0; bad input is the tool's clean Failure."""

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "chipmesh-mpirun" / "chipmesh-mpirun.py"


@pytest.fixture(scope="module")
def m():
    spec = importlib.util.spec_from_file_location("chipmesh_mpirun_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NAN, INF = float("nan"), float("inf")
REF = [dict(offset=0, sizes=[2, 2], values=[1.0, 2.0, 3.0, 4.0])]
TIMING = {"step_s": 1, "mpi_s": 0, "idle_s": 0}


def ranks(values, sizes=(2, 2), offset=0):
    return {0: ([dict(offset=offset, sizes=list(sizes), values=values)], TIMING)}


def failure(m, fn, *args):
    with pytest.raises(m.Failure) as e:
        fn(*args)
    return str(e.value)


def test_matching_results_pass(m):
    checked, worst = m.compare(REF, ranks([1.0, 2.0, 3.0, 4.00001]), 1e-4, 1e-4)
    assert checked == [(0, 0, 0, [2, 2], pytest.approx(1e-5))]
    assert worst == pytest.approx(1e-5)


def test_two_ranks_each_covering_one_row_pass(m):
    two = {0: ([dict(offset=0, sizes=[1, 2], values=[1.0, 2.0])], TIMING),
           1: ([dict(offset=1, sizes=[1, 2], values=[3.0, 4.0])], TIMING)}
    checked, _ = m.compare(REF, two, 1e-4, 1e-4)
    assert [c[:3] for c in checked] == [(0, 0, 0), (1, 0, 1)]


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_non_finite_values_are_refused(m, bad):
    assert failure(m, m.compare, REF, ranks([bad] * 4), 1e-4, 1e-4) == \
        "device 0 result 0 value 0 is %s: results must be finite" % bad
    # One bad value among good ones, too.
    assert "value 2 is" in failure(m, m.compare, REF, ranks([1.0, 2.0, bad, 4.0]), 1e-4, 1e-4)


def test_a_non_finite_reference_is_refused(m):
    ref = [dict(offset=0, sizes=[2, 2], values=[1.0, NAN, 3.0, 4.0])]
    assert failure(m, m.compare, ref, ranks([1.0, NAN, 3.0, 4.0]), 1e-4, 1e-4) == \
        "the reference result 0 value 1 is nan: results must be finite"


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0, 5.0], []])
def test_value_count_must_be_the_product_of_the_sizes(m, values):
    assert failure(m, m.compare, REF, ranks(values), 1e-4, 1e-4) == \
        "device 0 result 0 has %d values; its sizes [2, 2] need 4" % len(values)


def test_a_row_no_rank_printed_is_refused(m):
    assert failure(m, m.compare, REF, ranks([1.0, 2.0], sizes=(1, 2)), 1e-4, 1e-4) == \
        "no rank printed rows [1] of result 0"


def test_rows_past_the_reference_are_refused(m):
    assert failure(m, m.compare, REF, ranks([3.0, 4.0, 5.0, 6.0], offset=1), 1e-4, 1e-4) == \
        "device 0 result 0 rows 1..2 run past the reference's 2 rows"


def test_a_shape_of_another_rank_is_refused(m):
    assert "has shape [4], the reference [2, 2]" in \
        failure(m, m.compare, REF, ranks([1.0, 2.0, 3.0, 4.0], sizes=(4,)), 1e-4, 1e-4)


def test_a_wrong_value_is_named(m):
    assert failure(m, m.compare, REF, ranks([1.0, 2.0, 3.5, 4.0]), 1e-4, 1e-4) == \
        "device 0 result 0 row 1: 3.5 where the unpartitioned model gives 3.0"


@pytest.mark.parametrize("rtol, atol", [(NAN, 1e-4), (1e-4, NAN), (-1.0, 1e-4), (1e-4, INF)])
def test_tolerances_must_be_finite_and_not_negative(m, rtol, atol):
    # A NaN tolerance would make every comparison false, so every value pass.
    assert "the tolerances must be finite and >= 0" in \
        failure(m, m.compare, REF, ranks([9.0] * 4), rtol, atol)


@pytest.mark.parametrize("flag", ["--rtol", "--atol", "--timeout"])
@pytest.mark.parametrize("value", ["nan", "-1", "inf", "x"])
def test_command_line_numbers_are_checked(m, capsys, flag, value):
    with pytest.raises(SystemExit) as e:
        m.main(["plan.mlir", flag, value])
    assert e.value.code == 2
    assert flag in capsys.readouterr().err


NAN_OUTPUT = """\
chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 result=0 batch_offset=0
Unranked Memref base@ = 0x0 rank = 2 offset = 0 sizes = [2, 2] strides = [2, 1] data =
[[nan, nan],
 [nan]]
chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 step_s=1 mpi_s=0 idle_s=0
"""


def test_printed_nan_and_a_short_row_are_refused(m):
    res, timing = m.parse_output(NAN_OUTPUT, "rank 0")
    assert res[0]["sizes"] == [2, 2] and len(res[0]["values"]) == 3
    assert failure(m, m.compare, REF, {0: (res, timing)}, 1e-4, 1e-4) == \
        "device 0 result 0 has 3 values; its sizes [2, 2] need 4"
    full = NAN_OUTPUT.replace(" [nan]]", " [nan, nan]]")
    res, timing = m.parse_output(full, "rank 0")
    assert failure(m, m.compare, REF, {0: (res, timing)}, 1e-4, 1e-4) == \
        "device 0 result 0 value 0 is nan: results must be finite"


@pytest.mark.parametrize("text, message", [
    ("chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 result=0\n",
     "rank 0 printed a result line without the field it needs"),
    ("chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 result=0 batch_offset=0\n",
     "rank 0: result 0 has no memref descriptor line"),
    ("chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 result=0 batch_offset=0\n"
     "Unranked Memref rank = 1 sizes = [x] data =\n[1]\n",
     "rank 0: result 0 has size 'x'"),
    ("chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 result=0 batch_offset=0\n"
     "Unranked Memref rank = 1 sizes = [2] data =\n[1.2.3, 4]\n",
     "rank 0 printed result 0 value='1.2.3', not a number"),
    ("chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 step_s=abc mpi_s=0 idle_s=0\n",
     "rank 0 printed step_s='abc', not a number"),
    ("chipmesh-mpi device=0 stage=0 replica=0 tp_rank=0 step_s=1 idle_s=0\n",
     "rank 0 printed a timing line without the field it needs"),
])
def test_unreadable_output_is_a_clean_failure(m, text, message):
    assert message in failure(m, m.parse_output, text, "rank 0")


@pytest.mark.parametrize("field, value", [("step_s", NAN), ("mpi_s", -1.0), ("idle_s", INF)])
def test_measured_times_must_be_finite_and_not_negative(m, field, value):
    timing = dict(TIMING, **{field: value})
    assert failure(m, m.check_timing, timing, "rank 3") == \
        "rank 3 measured %s=%s: a time must be finite and >= 0" % (field, value)


def report(tmp_path, data=None, text=None):
    path = tmp_path / "plan.json"
    # 1e400 is valid JSON text and reads as inf (json.dumps would write the
    # non-JSON literal Infinity instead).
    path.write_text(text if text is not None else
                    json.dumps(data).replace("Infinity", "1e400"))
    return str(path)


DEVICE = {"chip": 0, "compute_s": 1e-3, "comm_s": 2e-4, "idle_s": 0.0}


def test_a_good_report_is_read(m, tmp_path):
    other = dict(DEVICE, chip=3, compute_s=2e-3)
    predicted, step = m.predicted_by_device(
        report(tmp_path, {"devices": [DEVICE, other], "step_time_s": 5e-3}))
    assert sorted(predicted) == [0, 3] and predicted[3]["compute_s"] == 2e-3
    assert step == 5e-3


@pytest.mark.parametrize("field, value", [
    ("compute_s", -5.0), ("comm_s", -1), ("idle_s", "x"), ("compute_s", None),
    ("comm_s", True), ("idle_s", [1.0]), ("compute_s", 1e400)])
def test_negative_non_numeric_and_non_finite_predictions_are_refused(m, tmp_path, field, value):
    path = report(tmp_path, {"devices": [dict(DEVICE, **{field: value})], "step_time_s": 1.0})
    message = failure(m, m.predicted_by_device, path)
    assert message.startswith(path + ": devices[0].%s is " % field), message
    assert message.endswith("a predicted time must be a finite number >= 0")


@pytest.mark.parametrize("value", [-2.0, "fast", 1e400])
def test_a_bad_step_time_is_refused(m, tmp_path, value):
    path = report(tmp_path, {"devices": [DEVICE], "step_time_s": value})
    assert failure(m, m.predicted_by_device, path).startswith(path + ": step_time_s is ")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_literals_are_refused(m, tmp_path, literal):
    path = report(tmp_path, text='{"devices": [{"chip": 0, "compute_s": %s, "comm_s": 0, '
                                 '"idle_s": 0}]}' % literal)
    assert "%s is not a number JSON allows" % literal in failure(m, m.predicted_by_device, path)


@pytest.mark.parametrize("data, message", [
    ({"devices": [{"compute_s": 0, "comm_s": 0, "idle_s": 0}]}, "a device entry has no 'chip' index"),
    ({"devices": [dict(DEVICE, chip=-1)]}, "devices[0].chip is -1, not a chip index"),
    ({"devices": [dict(DEVICE, chip="0")]}, "devices[0].chip is '0', not a chip index"),
    ({"devices": [dict(DEVICE, chip=1.5)]}, "devices[0].chip is 1.5, not a chip index"),
    ({"devices": [dict(DEVICE, chip=True)]}, "devices[0].chip is True, not a chip index"),
    ({"devices": [DEVICE, DEVICE]}, "devices[1].chip 0 is listed twice"),
    ({"devices": [{"chip": 0, "compute_s": 0, "comm_s": 0}]}, "devices[0] has no 'idle_s'"),
    ({"devices": ["chip 0"]}, "devices[0] is not an object"),
    ({"devices": {"chip": 0}}, "'devices' is not a list"),
    ({"step_time_s": 1.0}, "has no 'devices' list"),
    ([DEVICE], "is not a JSON object"),
])
def test_malformed_reports_name_the_field(m, tmp_path, data, message):
    assert message in failure(m, m.predicted_by_device, report(tmp_path, data))


def test_a_deeply_nested_report_is_a_clean_failure(m, tmp_path):
    path = report(tmp_path, text="[" * 100000 + "]" * 100000)
    assert failure(m, m.predicted_by_device, path) == \
        "%s nests too deeply to be a partition report" % path


@pytest.mark.parametrize("text", ["{", "", "\xff", '{"devices": [] } trailing'])
def test_a_report_that_is_not_json_is_a_clean_failure(m, tmp_path, text):
    assert "is not a JSON report" in failure(m, m.predicted_by_device, report(tmp_path, text=text))


def test_a_missing_report_is_a_clean_failure(m, tmp_path):
    assert "cannot read the report" in failure(m, m.predicted_by_device, str(tmp_path / "none.json"))
