"""Atomic outputs: a failed write leaves no file that looks complete; bad rows are named."""

import pytest

from allroads.io import DataError, atomic_dir, read_jsonl, write_jsonl


def test_atomic_dir_failure_leaves_nothing(tmp_path):
    target = tmp_path / "ckpt"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "config.json").write_text("{}")
        raise RuntimeError("killed mid-training")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_on_success(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("1")
    assert (target / "a").read_text() == "1"


def test_read_jsonl_names_file_and_row(tmp_path):
    p = tmp_path / "x.jsonl"
    write_jsonl(p, [{"id": 1, "prompt": "a"}])
    p.write_text(p.read_text() + '{"id": 2}\n')
    with pytest.raises(DataError, match=r"x.jsonl:2: missing field\(s\) \['prompt'\]"):
        read_jsonl(p, required=("id", "prompt"))
    p.write_text('{"id": 1, "prompt": "a"}\nnot json\n')
    with pytest.raises(DataError, match="x.jsonl:2: not valid JSON"):
        read_jsonl(p)
