"""Ops whose output sizes depend on the data: Unique and NonMaxSuppression."""

import torch


def _unique(
    x: torch.Tensor, axis: int | None, sort: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """
    ONNX Unique: the distinct values (slices along `axis`, elements of the
    flattened tensor when it is None), sorted or in order of first occurrence;
    the index of each one's first occurrence, the index of each input slice's
    unique value, and the counts.
    """
    data = x.flatten() if axis is None else x
    dim = 0 if axis is None else axis
    # torch sorts half-precision floats through float32 (every value is exact there).
    wide = data.float() if data.dtype in (torch.float16, torch.bfloat16) else data
    values, inverse, counts = torch.unique(
        wide, sorted=True, return_inverse=True, return_counts=True, dim=dim
    )
    values = values.to(data.dtype)
    size = data.shape[dim]
    first = torch.full((values.shape[dim],), size, dtype=torch.int64)
    first = first.scatter_reduce(0, inverse, torch.arange(size), reduce="amin")
    if not sort:
        order = torch.argsort(first)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(order.numel())
        values, first, counts = values.index_select(dim, order), first[order], counts[order]
        inverse = rank[inverse]
    return values, first, inverse, counts


def _box_edges(boxes: torch.Tensor, center_point_box: int) -> list[torch.Tensor]:
    """x_min, x_max, y_min, y_max of each box ([y1, x1, y2, x2] or [x, y, w, h] centred)."""
    if center_point_box:
        x, y, w, h = boxes.unbind(-1)
        return [x - w / 2, x + w / 2, y - h / 2, y + h / 2]
    y1, x1, y2, x2 = boxes.unbind(-1)
    x_min, x_max = torch.minimum(x1, x2), torch.maximum(x1, x2)
    return [x_min, x_max, torch.minimum(y1, y2), torch.maximum(y1, y2)]


def _overlaps(boxes: torch.Tensor, center_point_box: int, iou_threshold: float) -> torch.Tensor:
    """Which pairs of boxes suppress each other: IoU above the threshold (ONNX's rules)."""
    x_min, x_max, y_min, y_max = _box_edges(boxes, center_point_box)
    width = torch.minimum(x_max[:, None], x_max[None, :]) - torch.maximum(
        x_min[:, None], x_min[None, :]
    )
    height = torch.minimum(y_max[:, None], y_max[None, :]) - torch.maximum(
        y_min[:, None], y_min[None, :]
    )
    intersection = width * height
    area = (x_max - x_min) * (y_max - y_min)
    union = area[:, None] + area[None, :] - intersection
    positive = (width > 0) & (height > 0) & (intersection > 0)
    positive &= (area[:, None] > 0) & (area[None, :] > 0) & (union > 0)
    return positive & (intersection / union > iou_threshold)


def _non_max_suppression(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    max_output: torch.Tensor | None,
    iou_threshold: torch.Tensor | None,
    score_threshold: torch.Tensor | None,
    center_point_box: int,
) -> torch.Tensor:
    """
    ONNX NonMaxSuppression: per batch and class, boxes by descending score (the
    lower index first among equal scores), each kept unless it overlaps one kept
    before; at most `max_output` per class. Rows of [batch, class, box], int64.
    """
    limit = 0 if max_output is None or max_output.numel() == 0 else int(max_output.flatten()[0])
    iou = torch.zeros((), dtype=boxes.dtype)
    if iou_threshold is not None and iou_threshold.numel():
        iou = iou_threshold.flatten()[0].to(boxes.dtype)
    selected: list[list[int]] = []
    for batch in range(boxes.shape[0]):
        suppresses = _overlaps(boxes[batch], center_point_box, float(iou))
        for cls in range(scores.shape[1]):
            class_scores = scores[batch, cls]
            order = torch.sort(class_scores, descending=True, stable=True).indices
            if score_threshold is not None and score_threshold.numel():
                threshold = score_threshold.flatten()[0].to(class_scores.dtype)
                order = order[class_scores[order] > threshold]
            kept: list[int] = []
            for box in order.tolist():
                if len(kept) >= limit:
                    break
                if not any(bool(suppresses[box, other]) for other in kept):
                    kept.append(box)
                    selected.append([batch, cls, box])
    return torch.tensor(selected, dtype=torch.int64).reshape(-1, 3)
