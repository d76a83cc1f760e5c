"""Atomic outputs: a failed write leaves no file that looks complete; bad rows are named;
outputs get the umask's permissions."""

import os
import stat
import tempfile
from pathlib import Path

import pytest

from allroads.io import DataError, atomic_dir, atomic_path, read_jsonl, write_jsonl


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


@pytest.mark.parametrize(
    "umask, file_mode, dir_mode",
    [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)],
    ids=["umask022", "umask002"],
)
def test_outputs_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    """On a shared results/ folder colleagues must be able to read (umask 022) or also write
    (umask 002) the outputs: not the owner-only 0600/0700 of tempfile."""
    old = os.umask(umask)
    try:
        write_jsonl(tmp_path / "rows.jsonl", [{"id": 1}])
        with atomic_path(tmp_path / "table.csv") as tmp:
            tmp.write_text("a,b\n")
        with atomic_dir(tmp_path / "ckpt") as tmp:
            (tmp / "config.json").write_text("{}")
            (tmp / "sub").mkdir()
            fd, written = tempfile.mkstemp(dir=tmp)  # as transformers writes model.safetensors
            os.close(fd)
            Path(written).rename(tmp / "sub" / "model.safetensors")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "rows.jsonl") == file_mode
    assert mode(tmp_path / "table.csv") == file_mode
    assert mode(tmp_path / "ckpt") == dir_mode
    assert mode(tmp_path / "ckpt" / "config.json") == file_mode
    assert mode(tmp_path / "ckpt" / "sub") == dir_mode
    assert mode(tmp_path / "ckpt" / "sub" / "model.safetensors") == file_mode
