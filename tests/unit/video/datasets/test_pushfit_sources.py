"""PushFit source recordings: clips that look alike, or that were seen to be one recording,
share a source, so a split by source keeps one person on one side."""

from pathlib import Path

import numpy as np

from domain.video.datasets import pushfit


def _files(names):
    return [Path(f"/nowhere/{n}.mp4") for n in names]


def test_alike_thumbnails_and_clips_joined_by_eye_share_a_source(monkeypatch):
    rng = np.random.default_rng(0)
    room_a, room_b, room_c = (rng.normal(size=(18, 32)) for _ in range(3))
    thumbs = {"correct1": room_a, "correct2": room_a + 0.01, "wrong28": room_b,
              "wrong35": room_c, "wrong41": rng.normal(size=(18, 32)), "wrong2": None}
    monkeypatch.setattr(pushfit, "_thumbnail", lambda p: thumbs[p.stem])
    src = pushfit.source_groups(_files(thumbs))
    assert src["correct1"] == src["correct2"] == "correct1"
    # one man's piked push-ups filmed in three takes: one source, named after its first clip
    assert src["wrong28"] == src["wrong35"] == src["wrong41"] == "wrong28"
    assert src["wrong2"] == "wrong2"


def test_source_cache_is_rebuilt_when_the_joined_clips_change(monkeypatch, tmp_path):
    monkeypatch.setattr(pushfit, "_thumbnail", lambda p: None)
    files = _files(["wrong6", "wrong8"])
    cache = tmp_path / "sources.json"
    cache.write_text('{"files": ["wrong6", "wrong8"], "same_source": 0.4, '
                     '"sources": {"wrong6": "wrong6", "wrong8": "wrong8"}}')
    assert pushfit._cached_sources(files, cache) == {"wrong6": "wrong6", "wrong8": "wrong6"}
