"""segment.io.ChunkedWriter / write_chunks: streamed, atomic, same chunks -> same bytes."""

from __future__ import annotations

import json

import polars as pl
import pytest

from segment.errors import OptionError, OutputError
from segment.io import PROVENANCE_KEY, ChunkedWriter, read_table, write_chunks

CHUNKS = [pl.DataFrame({"id": ["a", "b"], "x": [1.5, 2.0]}), pl.DataFrame({"id": ["c"], "x": [None]},
                                                                            schema={"id": pl.String, "x": pl.Float64})]


@pytest.mark.parametrize("ext", ["parquet", "arrow", "csv", "tsv", "ndjson"])
def test_chunks_round_trip_in_every_format(tmp_path, ext):
    path = tmp_path / f"t.{ext}"
    w = ChunkedWriter(path, provenance={"command": "demo"})
    for c in CHUNKS:
        w.write(c)
    w.commit()
    back = read_table(path).frame.collect()
    assert back.equals(pl.concat(CHUNKS)), back
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_parquet_provenance_counts_the_rows(tmp_path):
    path = tmp_path / "t.parquet"
    write_chunks(iter([{"t": c} for c in CHUNKS]), {"t": path}, provenance={"t": {"command": "demo"}})
    prov = json.loads(pl.read_parquet_metadata(path)[PROVENANCE_KEY])
    assert prov == {"command": "demo", "rows": 3}


def test_empty_chunks_still_give_a_file_with_the_schema(tmp_path):
    path = tmp_path / "t.csv"
    w = ChunkedWriter(path)
    w.write(CHUNKS[0].head(0))
    w.commit()
    assert path.read_text() == "id,x\n"


def test_a_failure_leaves_every_target_as_it_was(tmp_path):
    old = tmp_path / "a.parquet"
    old.write_bytes(b"previous")

    def chunks():
        yield {"a": CHUNKS[0], "b": CHUNKS[0]}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_chunks(chunks(), {"a": old, "b": tmp_path / "b.parquet"})
    assert old.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet"]


def test_bad_targets_are_refused(tmp_path):
    with pytest.raises(OptionError, match=r"\.gz"):
        ChunkedWriter(tmp_path / "t.csv.gz")
    with pytest.raises(OutputError, match="does not exist"):
        ChunkedWriter(tmp_path / "no" / "t.csv")
    with pytest.raises(OutputError, match="also an input"):
        ChunkedWriter(tmp_path / "in.csv", inputs=[str(tmp_path / "in.csv")])
    with pytest.raises(OutputError, match="nothing was written"):
        ChunkedWriter(tmp_path / "t.csv").commit()
