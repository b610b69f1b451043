"""Geometry kernels for the site: point-in-polygon, walls and floor slabs crossed by many 3-D segments at once.

The locator evaluates every cell against every sensor, and a fingerprint survey many more points, so the inner
loops are numba kernels over flat arrays (walls as an (W, 4) array of end points, polygons as one vertex array
with offsets) with a bounding-box test before any arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

Point = tuple[float, float]
Polygon = Sequence[Point]

# Parameters this close to a segment's end count as touching, not crossing: a phone standing on a wall line
# is inside one room, and a ray grazing a wall junction should not count both walls.
_EPS = 1e-9


def pack_polygons(polygons: Sequence[Polygon]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten polygons into (vertices (V, 2), offsets (P+1,), bounding boxes (P, 4) as xmin, ymin, xmax, ymax)."""
    offsets = np.zeros(len(polygons) + 1, np.int64)
    offsets[1:] = np.cumsum([len(p) for p in polygons])
    vertices = np.asarray([xy for p in polygons for xy in p], float).reshape(-1, 2)
    boxes = np.empty((len(polygons), 4))
    for i, p in enumerate(polygons):
        xy = np.asarray(p, float)
        boxes[i] = (*xy.min(axis=0), *xy.max(axis=0))
    return vertices, offsets, boxes


@numba.njit(cache=True, nogil=True)
def _inside(x: float, y: float, vertices: np.ndarray, start: int, stop: int) -> bool:
    """Crossing-number test of (x, y) against the polygon vertices[start:stop]."""
    inside = False
    j = stop - 1
    for i in range(start, stop):
        xi, yi = vertices[i, 0], vertices[i, 1]
        xj, yj = vertices[j, 0], vertices[j, 1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


@numba.njit(cache=True, nogil=True)
def locate_in_polygons(
    points: np.ndarray,
    point_level: np.ndarray,
    vertices: np.ndarray,
    offsets: np.ndarray,
    boxes: np.ndarray,
    polygon_level: np.ndarray,
) -> np.ndarray:
    """Index of the first polygon on the same level that contains each point, or -1; points (N, 2)."""
    n = points.shape[0]
    found = np.full(n, -1, np.int64)
    for k in range(n):
        x, y = points[k, 0], points[k, 1]
        for p in range(boxes.shape[0]):
            if polygon_level[p] != point_level[k]:
                continue
            if x < boxes[p, 0] or x > boxes[p, 2] or y < boxes[p, 1] or y > boxes[p, 3]:
                continue
            if _inside(x, y, vertices, offsets[p], offsets[p + 1]):
                found[k] = p
                break
    return found


# Segments to one receiver are tested in runs of at most this many against the walls near the run: callers
# pass points in rooms or rooms in order, so a run's box is small, and it bounds the cost of a run that is not.
RUN_SEGMENTS = 128


@numba.njit(cache=True, nogil=True)
def _run_end(b: np.ndarray, start: int, most: int) -> int:
    """End of the run of segments from `start` that share their end point b, at most `most` long."""
    stop = min(b.shape[0], start + most)
    for k in range(start + 1, stop):
        if b[k, 0] != b[start, 0] or b[k, 1] != b[start, 1] or b[k, 2] != b[start, 2]:
            return k
    return stop


@numba.njit(cache=True, nogil=True)
def _walls_near(a: np.ndarray, b: np.ndarray, box: np.ndarray, wall_z: np.ndarray, near: np.ndarray) -> int:
    """Fill `near` with the walls (plan boxes, heights) that reach into the box around the segments a -> b;
    return how many."""
    x0, x1 = min(a[:, 0].min(), b[:, 0].min()), max(a[:, 0].max(), b[:, 0].max())
    y0, y1 = min(a[:, 1].min(), b[:, 1].min()), max(a[:, 1].max(), b[:, 1].max())
    z0, z1 = min(a[:, 2].min(), b[:, 2].min()), max(a[:, 2].max(), b[:, 2].max())
    found = 0
    for w in range(box.shape[0]):
        if not (
            wall_z[w, 1] < z0
            or wall_z[w, 0] > z1
            or box[w, 2] < x0
            or box[w, 0] > x1
            or box[w, 3] < y0
            or box[w, 1] > y1
        ):
            near[found] = w
            found += 1
    return found


@numba.njit(cache=True, nogil=True)
def wall_crossings(
    a: np.ndarray, b: np.ndarray, walls: np.ndarray, wall_z: np.ndarray, wall_loss_db: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Walls crossed by each segment a[k] -> b[k] (both (N, 3)) and the sum of their losses.

    walls: (W, 4) x0, y0, x1, y1; wall_z: (W, 2) bottom and top z (a wall covers bottom <= z < top);
    wall_loss_db: (W,) loss of each wall at the frequency of interest. A wall counts when the segment's
    plan view crosses it strictly between the segment's ends and the segment's height there is within the wall.
    """
    n, nw = a.shape[0], walls.shape[0]
    count = np.zeros(n, np.int64)
    loss = np.zeros(n)
    # Each wall's plan bounding box once, so the common case (a wall nowhere near the path) is four compares.
    box = np.empty((nw, 4))
    for w in range(nw):
        box[w, 0], box[w, 1] = min(walls[w, 0], walls[w, 2]), min(walls[w, 1], walls[w, 3])
        box[w, 2], box[w, 3] = max(walls[w, 0], walls[w, 2]), max(walls[w, 1], walls[w, 3])
    near = np.empty(nw, np.int64)
    n_near = 0
    run_end = 0
    for k in range(n):
        if k == run_end:
            run_end = _run_end(b, k, RUN_SEGMENTS)
            n_near = _walls_near(a[k:run_end], b[k:run_end], box, wall_z, near)
        px, py, pz = a[k, 0], a[k, 1], a[k, 2]
        rx, ry, rz = b[k, 0] - px, b[k, 1] - py, b[k, 2] - pz
        xmin, xmax = min(px, px + rx), max(px, px + rx)
        ymin, ymax = min(py, py + ry), max(py, py + ry)
        zmin, zmax = min(pz, pz + rz), max(pz, pz + rz)
        for c in range(n_near):
            w = near[c]
            if wall_z[w, 1] < zmin or wall_z[w, 0] > zmax:
                continue  # a wall of another storey
            if box[w, 2] < xmin or box[w, 0] > xmax or box[w, 3] < ymin or box[w, 1] > ymax:
                continue
            qx, qy = walls[w, 0], walls[w, 1]
            sx, sy = walls[w, 2] - qx, walls[w, 3] - qy
            denom = rx * sy - ry * sx
            if denom == 0.0:
                continue  # parallel: a segment running along a wall does not go through it
            dx, dy = qx - px, qy - py
            t = (dx * sy - dy * sx) / denom
            u = (dx * ry - dy * rx) / denom
            if t <= _EPS or t >= 1.0 - _EPS or u < 0.0 or u > 1.0:
                continue
            z = pz + t * rz
            if wall_z[w, 0] <= z < wall_z[w, 1]:
                count[k] += 1
                loss[k] += wall_loss_db[w]
    return count, loss


@numba.njit(cache=True, nogil=True)
def floor_crossings(
    a: np.ndarray,
    b: np.ndarray,
    slab_z: np.ndarray,
    vertices: np.ndarray,
    offsets: np.ndarray,
    boxes: np.ndarray,
    slab_loss_db: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Floor slabs crossed by each segment a[k] -> b[k] and the sum of their losses.

    A slab at height slab_z[f] covering polygon f is crossed when the segment passes through that height
    (one end below, the other at or above) at a point inside the polygon.
    """
    n = a.shape[0]
    count = np.zeros(n, np.int64)
    loss = np.zeros(n)
    for k in range(n):
        z0, z1 = a[k, 2], b[k, 2]
        lo, hi = min(z0, z1), max(z0, z1)
        for f in range(slab_z.shape[0]):
            zf = slab_z[f]
            if not (lo < zf <= hi) or z0 == z1:
                continue
            t = (zf - z0) / (z1 - z0)
            x = a[k, 0] + t * (b[k, 0] - a[k, 0])
            y = a[k, 1] + t * (b[k, 1] - a[k, 1])
            if x < boxes[f, 0] or x > boxes[f, 2] or y < boxes[f, 1] or y > boxes[f, 3]:
                continue
            if _inside(x, y, vertices, offsets[f], offsets[f + 1]):
                count[k] += 1
                loss[k] += slab_loss_db[f]
    return count, loss


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True when closed segments p1-p2 and q1-q2 share a point."""

    def orient(a: Point, b: Point, c: Point) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    def on(a: Point, b: Point, c: Point) -> bool:  # c is collinear with a-b: is it between them?
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    d1, d2, d3, d4 = orient(q1, q2, p1), orient(q1, q2, p2), orient(p1, p2, q1), orient(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and d1 and d2 and d3 and d4:
        return True
    return (
        (d1 == 0 and on(q1, q2, p1))
        or (d2 == 0 and on(q1, q2, p2))
        or (d3 == 0 and on(p1, p2, q1))
        or (d4 == 0 and on(p1, p2, q2))
    )


def self_intersection(polygon: Polygon) -> tuple[int, int] | None:
    """The first pair of non-adjacent edges (by start-corner index) that touch or cross, or None if simple."""
    n = len(polygon)
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # neighbouring edges share a corner by construction
            if _segments_cross(polygon[i], polygon[(i + 1) % n], polygon[j], polygon[(j + 1) % n]):
                return i, j
    return None


def point_in_polygon(x: float, y: float, polygon: Polygon) -> bool:
    """Whether (x, y) lies inside the polygon (crossing-number rule)."""
    vertices = np.asarray(polygon, float)
    return bool(_inside(x, y, vertices, 0, len(vertices)))


def distance_to_polygon_edge(x: float, y: float, polygon: Polygon) -> float:
    """Shortest plan distance from (x, y) to the polygon's boundary, metres."""
    v = np.asarray(polygon, float)
    a, b = v, np.roll(v, -1, axis=0)
    ab = b - a
    t = np.clip(((np.array([x, y]) - a) * ab).sum(axis=1) / (ab * ab).sum(axis=1), 0.0, 1.0)
    nearest = a + t[:, None] * ab
    return float(np.hypot(nearest[:, 0] - x, nearest[:, 1] - y).min())
