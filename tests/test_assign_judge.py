"""The judge and its plain-data channel, without a kernel: a student namespace in this process.

``wire.answer`` (the kernel's side) runs here on a dict standing for the kernel's globals, so
these tests exercise the real encoding, reply files and decoding; the kernel itself, the sandbox
and the interrupts are tested by tests/test_assign_sandbox.py and tests/test_assign_grade.py.
"""

import io
import json
import os
import pickle

import numpy as np
import pytest

from helpers.kit.assign import judge, wire
from helpers.kit.assign.feedback import CheckFailed


@pytest.fixture
def student(tmp_path, monkeypatch):
    """``(Student, its namespace)``: requests run ``wire.answer`` on the namespace, in-process."""
    namespace: dict = {}
    monkeypatch.setattr(wire, "_namespace", lambda: namespace)
    monkeypatch.setattr(wire, "_HANDLES", {})

    def execute(code: str, seconds: float) -> str:
        exec(code, {})
        return "ok"

    return judge.Student(execute, tmp_path, lambda: 5.0), namespace


def _define(namespace: dict, source: str) -> None:
    exec(source, namespace)


def _run(source: str, student, imports=None, state=None):
    state = {} if state is None else state
    return judge.run_cell(source, "<test cell>", state, imports or {}, student)


def test_plain_data_round_trips_with_exact_types():
    value = {
        "a": [1, 2.5, True, None, "x"],
        (1, 2): (np.int8(3), np.float32(0.5)),
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
    }
    back = wire.decode(wire.encode(value))
    assert back["a"] == [1, 2.5, True, None, "x"] and type(back["a"][1]) is float
    assert type(back[(1, 2)]) is tuple and back[(1, 2)][0].dtype == np.int8
    assert back["array"].dtype == np.int16 and back["array"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_subclasses_and_objects_become_plain_data_or_opaque():
    class Sneaky(float):
        def __eq__(self, other):
            return True

    class Always:
        __eq__ = lambda *a: True  # noqa: E731

    class View(np.ndarray):
        def __eq__(self, other):
            return True

    back = wire.decode(wire.encode([Sneaky(1.5), Always(), np.zeros(2).view(View), iter([1])]))
    assert type(back[0]) is float and back[0] != 2.0
    assert isinstance(back[1], wire.Opaque) and back[1] != back[1].kind and back[1] != 1
    assert type(back[2]) is np.ndarray and not (back[2] == 1).any()
    assert isinstance(back[3], wire.Opaque) and "grader cannot read" in repr(back[3])


def test_too_deep_too_big_and_recursive_values_are_refused():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(wire.WireError, match="nested more than"):
        wire.encode(deep)
    loop: list = []
    loop.append(loop)
    with pytest.raises(wire.WireError, match="nested more than"):
        wire.encode(loop)
    with pytest.raises(wire.WireError, match=r"is 128 MB; the grader reads at most 64 MB"):
        wire.encode(np.zeros(2**24))
    with pytest.raises(wire.WireError, match=r"at most 16 MB of those"):
        wire.decode(wire.encode(list(range(4_000_000))))


def _imports(name: str, statement: str) -> dict:
    """The instructor's imports as the judge holds them: ``{name: the import statement's node}``."""
    import ast

    return {name: ast.fix_missing_locations(ast.parse(statement).body[0])}


def _checks_import():
    return _imports("checks", "from helpers.kit.assign import checks")


def _message(tree, blobs=()) -> bytes:
    header = json.dumps({"value": tree, "blobs": [len(b) for b in blobs]}).encode()
    return len(header).to_bytes(8, "big") + header + b"".join(blobs)


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_message({"$array": 0}, [_npy(np.array([object()], dtype=object))]), "dtype object"),
        (_message({"$array": 0}, [_npy(np.zeros(4))[:-8]]), "as many bytes as its shape"),
        (_message({"$array": 0}, [pickle.dumps([1, 2])]), "not valid .npy"),
        (_message({"$eval": "1 + 1"}), "unknown tag"),
        (_message({"$array": 3}), "missing blob"),
        (_message([1]) + b"extra", "length does not match"),
        (b"\x00" * 8 + b"[" * 100_000, "not valid"),
    ],
)
def test_forged_messages_are_refused(data, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(data)


def test_a_forged_npy_shape_is_refused_before_any_allocation():
    from numpy.lib import format as npy

    buffer = io.BytesIO()
    npy.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with pytest.raises(wire.WireError, match="as many bytes as its shape"):
        wire.load_npy(buffer.getvalue() + bytes(16))


def test_check_cells_run_here_on_the_students_functions(student):
    channel, namespace = student
    _define(namespace, "import numpy as np\ndef twice(x):\n    return np.asarray(x) * 2\n")
    status, message = _run("assert twice([1, 2]).tolist() == [2, 4]", channel)
    assert (status, message) == ("ok", "")
    status, message = _run("assert twice([1, 2]).tolist() == [2, 5], 'wrong'", channel)
    assert (status, message) == ("error", "AssertionError: wrong")


def test_an_always_equal_result_fails_an_equality_test(student):
    channel, namespace = student
    _define(namespace, "class A:\n    __eq__ = lambda *a: True\ndef f(x):\n    return A()\n")
    status, message = _run("assert f(1) == [1, 2]", channel)
    assert status == "error" and message.startswith("AssertionError")


def test_the_student_cannot_replace_the_instructors_imports(student):
    channel, namespace = student
    _define(namespace, "def check_equal(*a, **k):\n    return None\ndef f():\n    return 1\n")
    imports = _imports("check_equal", "from helpers.kit.assign.feedback import check_equal")
    status, message = _run("check_equal('f()', f(), 2)", channel, imports)
    assert status == "error" and message.startswith("CheckFailed: f(): found 1; expected 2"), (
        message
    )


def test_registered_checks_see_the_kernel_through_the_namespace(student):
    channel, namespace = student
    _define(namespace, "def per_class_accuracy(t, p, n):\n    return [1.0, 1.0, 1.0]\n")
    imports = _checks_import()
    status, message = _run('checks.run("demo.per_class_accuracy", globals())', channel, imports)
    assert status == "error" and "2 of 3 values differ; found [1.0, 1.0, 1.0]" in message
    _define(namespace, "def per_class_accuracy(t, p, n):\n    return [0.5, 2 / 3, 1.0]\n")
    assert _run('checks.run("demo.per_class_accuracy", globals())', channel, imports) == ("ok", "")


def test_arguments_are_written_back_so_mutations_are_seen(student):
    channel, namespace = student
    _define(namespace, "def clobber(x):\n    x[0] = 99\n    return 0\n")
    status, message = _run(
        "import numpy as np\nx = np.zeros(3)\nclobber(x)\nassert x[0] == 0, 'changed its input'",
        channel,
    )
    assert (status, message) == ("error", "AssertionError: changed its input")


def test_deleting_and_rebinding_a_name_is_mirrored_in_the_kernel(student):
    channel, namespace = student
    _define(namespace, "def sq(n):\n    return n * n\ndef total(n):\n    return sq(n) + 1\n")
    source = (
        "keep = sq\n"
        "del sq\n"
        "try:\n    total(2)\nexcept NameError:\n    pass\nelse:\n    raise AssertionError('no')\n"
        "finally:\n    sq = keep\n"
        "assert total(2) == 5\n"
    )
    assert _run(source, channel) == ("ok", "")
    assert "sq" in namespace


def test_student_exceptions_keep_their_builtin_type_or_become_student_errors(student):
    channel, namespace = student
    _define(
        namespace,
        "class Odd(Exception):\n    pass\ndef f(n):\n    if n < 0:\n"
        "        raise ValueError('negative')\n    raise Odd('odd')\n",
    )
    assert _run("try:\n    f(-1)\nexcept ValueError:\n    pass\n", channel) == ("ok", "")
    status, message = _run("f(1)", channel)
    assert (status, message) == ("error", "StudentError: Odd: odd")


def test_a_probe_runs_next_to_the_students_function(student, monkeypatch):
    from helpers.kit.assign import checks

    channel, namespace = student
    monkeypatch.setitem(checks._PROBES, "test.shape_of", lambda fn, n: list(np.shape(fn(n))))
    _define(namespace, "import numpy as np\ndef f(n):\n    return np.zeros((n, 2))\n")
    found, proxy = channel.get("f")
    assert found and isinstance(proxy, judge.StudentFunction)
    assert checks.call_probe("test.shape_of", proxy, 3) == [3, 2]
    assert checks.call_probe("test.shape_of", lambda n: np.zeros(n), 4) == [4]


def test_a_reply_that_is_a_link_or_not_a_file_is_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"instructor's")
    link = tmp_path / "reply-link"
    link.symlink_to(secret)
    with pytest.raises(judge.ChannelError, match="cannot be read"):
        judge.read_reply(link)
    fifo = tmp_path / "reply-fifo"
    os.mkfifo(fifo)
    with pytest.raises(judge.ChannelError, match="not a regular file"):
        judge.read_reply(fifo)
    with pytest.raises(judge.ChannelError, match="sent no answer"):
        judge.read_reply(tmp_path / "missing")
    assert secret.read_bytes() == b"instructor's"


def test_a_keras_model_with_a_lambda_is_refused_in_safe_mode():
    import keras

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    with pytest.raises(wire.WireError, match="safe mode"):
        wire.decode(wire.encode(model))
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    back = wire.decode(wire.encode(plain))
    assert isinstance(back, keras.Model) and back.count_params() == 8


def test_checkfailed_from_the_student_does_not_count_as_the_judges():
    error = judge._student_exception(["CheckFailed", "all checks passed"])
    assert isinstance(error, judge.StudentError) and not isinstance(error, CheckFailed)


def test_a_function_called_on_symbolic_tensors_gives_the_students_layers(student):
    channel, namespace = student
    _define(
        namespace,
        "import keras\ndef block(x, units):\n"
        "    return keras.layers.Dense(units, use_bias=False)(keras.layers.Flatten()(x))\n",
    )
    status, message = _run(
        "import keras\nx = keras.Input((2, 3))\nmodel = keras.Model(x, block(x, 4))\n"
        "assert model.count_params() == 24, model.count_params()\n"
        "assert [type(l).__name__ for l in model.layers] == ['InputLayer', 'Flatten', 'Dense']\n",
        channel,
    )
    assert (status, message) == ("ok", ""), message


SUMMARISE = (
    "def summarise_seeds(trials, by, metric='val_accuracy'):\n"
    "    out = trials.groupby(by)[metric].agg(['mean', 'std', 'count'])\n"
    "    return out.rename(columns={'count': 'n'}).reset_index()\n"
)


def test_a_course_check_on_tables_passes_through_the_judge_and_sees_a_changed_input(student):
    channel, namespace = student
    _define(namespace, "import pandas as pd\n" + SUMMARISE)
    check = 'checks.run("04.summarise_seeds", globals())'
    assert _run(check, channel, _checks_import()) == ("ok", "")
    _define(namespace, SUMMARISE.replace("    out =", "    trials['seed'] = 0\n    out ="))
    status, message = _run(check, channel, _checks_import())
    assert status == "error" and "changed the table it was given" in message, message


def test_a_course_check_with_a_probe_and_a_keras_model_passes_through_the_judge(student):
    channel, namespace = student
    _define(
        namespace,
        "import keras\nfrom helpers import models\n"
        "def residual_block(x, filters, stride=1):\n"
        "    return models.residual_block(x, filters, stride=stride)\n"
        "def build_mlp():\n"
        "    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),\n"
        "        keras.layers.Dense(64, activation='relu'),\n"
        "        keras.layers.Dense(10, activation='softmax')])\n",
    )
    for check in ("03.residual_block", "01.build_mlp"):
        assert _run(f'checks.run("{check}", globals())', channel, _checks_import()) == ("ok", "")
