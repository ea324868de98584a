//! Exact k-nearest-neighbour queries on a uniform grid of points.
//!
//! Points are bucketed into cubic cells (about two points per cell); a query visits cells in
//! growing shells around its own cell and stops when no unvisited cell can hold a closer point,
//! so the answer is exact for any query, including queries far outside the points' bounds.

use glam::Vec3;

/// A static set of points bucketed for neighbour queries.
#[derive(Clone, Debug)]
pub struct PointGrid {
    origin: Vec3,
    cell: f32,
    dims: [usize; 3],
    /// `start[c]..start[c+1]` indexes `order` for cell `c`.
    start: Vec<u32>,
    /// Point indices sorted by cell.
    order: Vec<u32>,
    /// Point positions in `order`.
    sorted: Vec<Vec3>,
}

impl PointGrid {
    /// Buckets `points` (which may be empty).
    pub fn new(points: &[Vec3]) -> PointGrid {
        let (lo, hi) =
            super::transform::bounds(points.iter().copied()).unwrap_or((Vec3::ZERO, Vec3::ZERO));
        let ext = hi - lo;
        let n = points.len().max(1) as f32;
        let floor = ext.max_element() * 1e-3 + 1e-9;
        let e = ext.max(Vec3::splat(floor));
        let mut cell = (e.x * e.y * e.z * 2.0 / n).cbrt();
        // At most 512 cells per axis and about 4 cells per point.
        cell = cell.max(ext.max_element() / 512.0).max(1e-12);
        let dims = [0, 1, 2].map(|a| ((ext[a] / cell).floor() as usize + 1).clamp(1, 513));
        let mut grid = PointGrid {
            origin: lo,
            cell,
            dims,
            start: Vec::new(),
            order: Vec::new(),
            sorted: Vec::new(),
        };
        let ncell = dims[0] * dims[1] * dims[2];
        let mut count = vec![0u32; ncell + 1];
        let ids: Vec<usize> = points
            .iter()
            .map(|&p| grid.cell_id(grid.cell_of(p)))
            .collect();
        for &c in &ids {
            count[c + 1] += 1;
        }
        for c in 0..ncell {
            count[c + 1] += count[c];
        }
        let mut fill = count.clone();
        let mut order = vec![0u32; points.len()];
        for (i, &c) in ids.iter().enumerate() {
            order[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }
        grid.sorted = order.iter().map(|&i| points[i as usize]).collect();
        grid.start = count;
        grid.order = order;
        grid
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when the grid holds no points.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn cell_of(&self, p: Vec3) -> [usize; 3] {
        [0, 1, 2].map(|a| {
            let c = ((p[a] - self.origin[a]) / self.cell).floor();
            if c.is_nan() || c < 0.0 {
                0
            } else {
                (c as usize).min(self.dims[a] - 1)
            }
        })
    }

    fn cell_id(&self, c: [usize; 3]) -> usize {
        (c[2] * self.dims[1] + c[1]) * self.dims[0] + c[0]
    }

    /// The `k` nearest points to `q` as `(squared distance, index)`, nearest first (fewer when
    /// the set is smaller); `out` is cleared first. Ties are broken by index.
    pub fn knn(&self, q: Vec3, k: usize, out: &mut Vec<(f32, u32)>) {
        out.clear();
        if k == 0 || self.is_empty() {
            return;
        }
        let c = self.cell_of(q);
        let mut r = 0usize;
        loop {
            self.visit_shell(c, r, |i, p| {
                let d = (p - q).length_squared();
                if out.len() < k || (d, i) < out[out.len() - 1] {
                    let pos = out.partition_point(|e| *e < (d, i));
                    out.insert(pos, (d, i));
                    out.truncate(k);
                }
            });
            let covers_all = (0..3).all(|a| c[a] < r + 1 && c[a] + r + 1 >= self.dims[a]);
            if covers_all {
                return;
            }
            if out.len() == k {
                // Lower bound on the distance to any cell outside the searched block.
                let mut bound = f32::INFINITY;
                for a in 0..3 {
                    if c[a] > r {
                        let face = self.origin[a] + (c[a] - r) as f32 * self.cell;
                        bound = bound.min((q[a] - face).max(0.0));
                    }
                    if c[a] + r + 1 < self.dims[a] {
                        let face = self.origin[a] + (c[a] + r + 1) as f32 * self.cell;
                        bound = bound.min((face - q[a]).max(0.0));
                    }
                }
                if out[k - 1].0 <= bound * bound {
                    return;
                }
            }
            r += 1;
        }
    }

    /// The nearest point as `(distance, index)`.
    pub fn nearest(&self, q: Vec3) -> Option<(f32, u32)> {
        let mut out = Vec::with_capacity(1);
        self.knn(q, 1, &mut out);
        out.first().map(|&(d2, i)| (d2.sqrt(), i))
    }

    /// Calls `f(index, position)` for every point in the cells at Chebyshev distance `r` of `c`.
    fn visit_shell(&self, c: [usize; 3], r: usize, mut f: impl FnMut(u32, Vec3)) {
        let lo = c.map(|v| v.saturating_sub(r));
        let hi = [0, 1, 2].map(|a| (c[a] + r).min(self.dims[a] - 1));
        for z in lo[2]..=hi[2] {
            for y in lo[1]..=hi[1] {
                let inner = z.abs_diff(c[2]) < r && y.abs_diff(c[1]) < r;
                let mut cell = |x: usize| {
                    let id = self.cell_id([x, y, z]);
                    for j in self.start[id] as usize..self.start[id + 1] as usize {
                        f(self.order[j], self.sorted[j]);
                    }
                };
                if inner {
                    // Inside the shell only the two x ends are new.
                    if c[0] >= r {
                        cell(c[0] - r);
                    }
                    if c[0] + r < self.dims[0] {
                        cell(c[0] + r);
                    }
                } else {
                    (lo[0]..=hi[0]).for_each(&mut cell);
                }
            }
        }
    }
}
