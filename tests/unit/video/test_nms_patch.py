"""The pure-torch torchvision::nms fallback and the safe Ultralytics import."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from domain.video import nms_patch


def _random_boxes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 200
    wh = torch.rand(n, 2, generator=g) * 60 + 1
    return torch.cat([xy, xy + wh], dim=1), torch.rand(n, generator=g)


def test_ensure_is_idempotent():
    first = nms_patch.ensure_torchvision_nms()
    assert first in {"native", "patched"}
    assert nms_patch.ensure_torchvision_nms() == first


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_torchvision_nms_matches_brute_force(seed, threshold):
    nms_patch.ensure_torchvision_nms()
    import torchvision

    boxes, scores = _random_boxes(250, seed)
    kept = torchvision.ops.nms(boxes, scores, threshold)
    assert kept.dtype == torch.int64
    ref = nms_patch.nms_reference(boxes.numpy(), scores.numpy(), threshold)
    np.testing.assert_array_equal(kept.numpy(), ref)
    # the pure-torch kernel itself, whatever the active implementation
    np.testing.assert_array_equal(nms_patch.torch_nms(boxes, scores, threshold).numpy(), ref)


def test_row_by_row_path_matches(monkeypatch):
    boxes, scores = _random_boxes(200, 7)
    ref = nms_patch.nms_reference(boxes.numpy(), scores.numpy(), 0.45)
    monkeypatch.setattr(nms_patch, "_MATRIX_MAX", 0)
    np.testing.assert_array_equal(nms_patch.torch_nms(boxes, scores, 0.45).numpy(), ref)


def test_edge_cases():
    nms_patch.ensure_torchvision_nms()
    import torchvision

    empty = torchvision.ops.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == torch.int64
    same = torch.tensor([[0.0, 0, 10, 10]] * 3)
    assert torchvision.ops.nms(same, torch.tensor([0.2, 0.9, 0.5]), 0.5).tolist() == [1]
    boxes, scores = _random_boxes(100, 3)
    idxs = torch.randint(0, 3, (100,), generator=torch.Generator().manual_seed(3))
    kept = torchvision.ops.batched_nms(boxes, scores, idxs, 0.5)
    for c in range(3):  # batched NMS == per-class NMS
        sel = torch.nonzero(idxs == c).flatten()
        ref = sel[nms_patch.nms_reference(boxes[sel].numpy(), scores[sel].numpy(), 0.5)]
        assert set(kept[idxs[kept] == c].tolist()) == set(ref.tolist())


def test_import_ultralytics_is_offline_and_local():
    ultralytics = nms_patch.import_ultralytics()
    assert hasattr(ultralytics, "YOLO")
    assert os.environ["YOLO_OFFLINE"] == "1"
    assert os.path.isdir(os.environ["YOLO_CONFIG_DIR"])
