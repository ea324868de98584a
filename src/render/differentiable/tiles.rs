//! Screen tiles for the differentiable rasteriser: every projected Gaussian is binned into the
//! [`TILE`]×[`TILE`] pixel tiles that its quad (the reference's 3-sigma box, pixels
//! `floor(c − e)..ceil(c + e)` clipped to the image) touches. Gaussians are binned in the
//! order they are given (front to back), so each tile's list comes out depth-sorted with no
//! per-tile sort; the lists are stored compressed (one offset per tile into one index array).

use super::super::reference::Projected;

/// Side of a screen tile (pixels).
pub const TILE: u32 = 16;

/// Pixel box `[x0, x1) × [y0, y1)` of a projected Gaussian, as the reference rasteriser
/// loops over it; `None` when it holds no pixel of a `width`×`height` image.
pub fn pixel_box(p: &Projected, width: u32, height: u32) -> Option<[u32; 4]> {
    let (w, h) = (width as usize, height as usize);
    let x0 = (p.centre.x - p.extent.x).floor().max(0.0) as usize;
    let x1 = ((p.centre.x + p.extent.x).ceil().max(0.0) as usize).min(w);
    let y0 = (p.centre.y - p.extent.y).floor().max(0.0) as usize;
    let y1 = ((p.centre.y + p.extent.y).ceil().max(0.0) as usize).min(h);
    (x0 < x1 && y0 < y1).then_some([x0 as u32, x1 as u32, y0 as u32, y1 as u32])
}

/// The depth-sorted list of Gaussians of every tile.
#[derive(Clone, Debug, Default)]
pub struct TileLists {
    /// Tiles per row.
    pub tiles_x: u32,
    /// `tiles_x·tiles_y + 1` offsets into `entries`, tiles row-major.
    offsets: Vec<usize>,
    /// Positions in the front-to-back splat array, tile after tile.
    entries: Vec<u32>,
}

impl TileLists {
    /// Bins `boxes` (pixel boxes of the splats, front to back) for a `width`×`height` image.
    pub fn bin(boxes: &[[u32; 4]], width: u32, height: u32) -> TileLists {
        let (tiles_x, tiles_y) = (width.div_ceil(TILE), height.div_ceil(TILE));
        let tiles = (tiles_x * tiles_y) as usize;
        let range = |b: &[u32; 4]| {
            let xs = b[0] / TILE..=(b[1] - 1) / TILE;
            let ys = b[2] / TILE..=(b[3] - 1) / TILE;
            ys.flat_map(move |ty| xs.clone().map(move |tx| (ty * tiles_x + tx) as usize))
        };
        let mut offsets = vec![0usize; tiles + 1];
        for b in boxes {
            for t in range(b) {
                offsets[t + 1] += 1;
            }
        }
        for t in 0..tiles {
            offsets[t + 1] += offsets[t];
        }
        let mut cursor = offsets.clone();
        let mut entries = vec![0u32; offsets[tiles]];
        for (s, b) in boxes.iter().enumerate() {
            for t in range(b) {
                entries[cursor[t]] = s as u32;
                cursor[t] += 1;
            }
        }
        TileLists {
            tiles_x,
            offsets,
            entries,
        }
    }

    /// Number of tiles.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The splats of tile `t` (row-major), front to back.
    pub fn list(&self, t: usize) -> &[u32] {
        &self.entries[self.offsets[t]..self.offsets[t + 1]]
    }

    /// `len() + 1` offsets into [`Self::all`], tile after tile.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Every tile's list, tile after tile.
    pub fn all(&self) -> &[u32] {
        &self.entries
    }

    /// Total number of (tile, splat) pairs.
    pub fn entries(&self) -> usize {
        self.entries.len()
    }
}
