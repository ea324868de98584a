//! The scene file (TOML): what every key means is documented in `docs/scene-format.md`.
//!
//! Every table rejects unknown keys (`deny_unknown_fields`), so a typo is an error that names
//! the key and its line. Paths are relative to the scene file. Coordinates are in the
//! simulation domain `[0, 1]^3` (metres, y up) unless a key says otherwise.

use serde::Deserialize;

/// A whole scene file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneFile {
    /// Display name (defaults to the file stem).
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The object to simulate.
    pub object: ObjectSection,
    /// How the object file is placed in the domain.
    #[serde(default)]
    pub transform: TransformSection,
    /// How particles are made and attached.
    #[serde(default)]
    pub particles: ParticlesSection,
    /// Material defaults of every particle.
    #[serde(default)]
    pub material: MaterialSection,
    /// Solver settings.
    #[serde(default)]
    pub solver: SolverSection,
    /// Anchored regions (`[[anchor]]`).
    #[serde(default)]
    pub anchor: Vec<AnchorSpec>,
    /// Cameras (`[[camera]]`).
    #[serde(default)]
    pub camera: Vec<CameraSpec>,
    /// Named pokes (`[[poke]]`).
    #[serde(default)]
    pub poke: Vec<PokeSpec>,
    /// Optional reference video.
    pub video: Option<VideoSpec>,
}

/// `[object]`: the object file(s).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSection {
    /// A 3DGS `.ply` file.
    pub splat: Option<String>,
    /// A triangle mesh (`.obj` or `.ply`); with `splat`, it defines the volume to fill.
    pub mesh: Option<String>,
}

/// Axis of the object file that points up.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum Up {
    #[serde(rename = "x", alias = "+x")]
    /// +x is up.
    PosX,
    #[serde(rename = "-x")]
    /// -x is up.
    NegX,
    #[default]
    #[serde(rename = "y", alias = "+y")]
    /// +y is up.
    PosY,
    #[serde(rename = "-y")]
    /// -y is up.
    NegY,
    #[serde(rename = "z", alias = "+z")]
    /// +z is up.
    PosZ,
    #[serde(rename = "-z")]
    /// -z is up.
    NegZ,
}

/// Vertical placement in the target box.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// Centred in all three axes.
    #[default]
    #[serde(alias = "centre")]
    Center,
    /// Centred in x and z, resting on the box floor.
    Bottom,
}

/// `[transform]`: object file -> domain.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformSection {
    /// Up axis of the file (`"y"` default; `"z"` for most 3DGS captures).
    pub up: Option<Up>,
    /// Extra rotation in degrees about x, then y, then z, after the up-axis change.
    pub rotate_deg: Option<[f32; 3]>,
    /// Keep only Gaussians inside this box (file coordinates, splats only).
    pub crop_min: Option<[f32; 3]>,
    /// Upper corner of the crop box.
    pub crop_max: Option<[f32; 3]>,
    /// Scale and centre the object into the target box (default true).
    pub fit: Option<bool>,
    /// Empty border on each side of the domain (default: enough cells for the walls).
    pub margin: Option<f32>,
    /// Target box lower corner (overrides `margin`).
    pub box_min: Option<[f32; 3]>,
    /// Target box upper corner.
    pub box_max: Option<[f32; 3]>,
    /// Vertical placement in the box.
    pub align: Option<Align>,
    /// With `fit = false`: uniform scale applied after rotating.
    pub scale: Option<f32>,
    /// With `fit = false`: translation applied last.
    pub offset: Option<[f32; 3]>,
}

/// `[particles]`: driving-particle generation and attachment.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticlesSection {
    /// Target number of driving particles (overrides `per_cell` and `spacing`).
    pub count: Option<usize>,
    /// Explicit particle spacing in domain units.
    pub spacing: Option<f32>,
    /// Particles per grid cell along each axis (default 2, i.e. spacing = dx / 2).
    pub per_cell: Option<f32>,
    /// Particles each Gaussian / vertex follows (default 8).
    pub neighbours: Option<usize>,
    /// Gaussians with alpha below this neither occupy cells nor define bounds (default 0.1).
    pub opacity_threshold: Option<f32>,
    /// Connected pieces with fewer cells than this are dropped (default 8).
    pub min_fragment: Option<usize>,
}

/// Constitutive model names.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ModelName {
    /// Fixed-corotated elasticity.
    FixedCorotated,
    /// Compressible neo-Hookean elasticity.
    NeoHookean,
}

/// `[material]`: defaults for every particle.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialSection {
    /// Elastic model (default `fixed_corotated`).
    pub model: Option<ModelName>,
    /// Young's modulus E in Pa (default 1e5).
    pub young: Option<f32>,
    /// Poisson ratio (default 0.3).
    pub poisson: Option<f32>,
    /// Density in kg/m^3 (default 1000).
    pub density: Option<f32>,
}

/// Wall behaviour names.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WallName {
    /// No walls.
    None,
    /// The outward velocity is zeroed.
    Slip,
    /// All velocity is zeroed.
    Sticky,
}

/// `[solver.ground]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroundSpec {
    /// Height of the plane y = height.
    pub height: f32,
    /// Zero all velocity (true) or only the downward part (false, default).
    #[serde(default)]
    pub sticky: bool,
}

/// `[solver]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSection {
    /// Grid nodes per axis: a multiple of 8 in 16..=512 (default 64).
    pub grid_res: Option<u32>,
    /// m/s^2 (default [0, -9.8, 0]).
    pub gravity: Option<[f32; 3]>,
    /// Grid velocity damping rate 1/s (default 0).
    pub damping: Option<f32>,
    /// Domain walls (default `slip`).
    pub wall: Option<WallName>,
    /// Node layers the walls act on (default 3).
    pub wall_cells: Option<u32>,
    /// Output frame length in s (default 1/30).
    pub frame_dt: Option<f32>,
    /// Fixed substep in s (default: adaptive CFL stepping).
    pub dt: Option<f32>,
    /// CFL number of adaptive stepping (default 0.4).
    pub cfl: Option<f32>,
    /// Most substeps per frame with adaptive stepping (default 2000).
    pub max_substeps: Option<u32>,
    /// Optional ground plane.
    pub ground: Option<GroundSpec>,
}

/// Which coordinates a shape is given in.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// The simulation domain (after the transform).
    #[default]
    Domain,
    /// The object file's own coordinates (before the transform).
    Object,
}

/// `[[anchor]]`: particles in the region are anchored (never move).
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnchorSpec {
    /// An axis-aligned box.
    Box {
        /// Lower corner.
        min: [f32; 3],
        /// Upper corner.
        max: [f32; 3],
        #[serde(default)]
        /// Coordinates the shape is given in (default `domain`).
        frame: Frame,
    },
    /// A ball.
    Sphere {
        #[serde(alias = "center")]
        /// Centre.
        centre: [f32; 3],
        /// Radius.
        radius: f32,
        #[serde(default)]
        /// Coordinates the shape is given in (default `domain`).
        frame: Frame,
    },
    /// Everything on the side `normal` points to: `(x - point) . normal >= 0`.
    HalfSpace {
        /// A point on the boundary plane.
        point: [f32; 3],
        /// Points into the anchored side.
        normal: [f32; 3],
        #[serde(default)]
        /// Coordinates the shape is given in (default `domain`).
        frame: Frame,
    },
    /// A point cloud (`.ply`, object-file coordinates) of the part that may move: particles
    /// within `radius` (domain units) of a mask point move, all others are anchored.
    Mask {
        /// Point cloud `.ply` of the moving part (object coordinates).
        file: String,
        /// Radius.
        radius: f32,
    },
}

/// `[[camera]]`: one look-at camera, or all cameras of a `transforms.json` or COLMAP model.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    /// Name (required for a look-at camera; a prefix `name/` for file cameras).
    pub name: Option<String>,
    /// Look-at: camera position (domain).
    pub eye: Option<[f32; 3]>,
    /// Look-at: point at the image centre (domain).
    pub target: Option<[f32; 3]>,
    /// Look-at: up direction (default [0, 1, 0]).
    pub up: Option<[f32; 3]>,
    /// Look-at: vertical field of view in degrees (default 40).
    pub fov_y_deg: Option<f32>,
    /// Look-at: image width in pixels (default 1024).
    pub width: Option<u32>,
    /// Look-at: image height in pixels (default 576).
    pub height: Option<u32>,
    /// A nerfstudio `transforms.json` (object-file coordinates).
    pub transforms: Option<String>,
    /// A COLMAP text model folder with `cameras.txt` and `images.txt` (object-file coordinates).
    pub colmap: Option<String>,
}

/// `[[poke]]`: a named poke preset (see `solver::Poke`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PokeSpec {
    /// Preset name.
    pub name: String,
    /// Centre of the poked ball (domain).
    #[serde(alias = "center")]
    pub centre: [f32; 3],
    /// Radius of the ball (default 0.1).
    pub radius: Option<f32>,
    /// Acceleration added to particles in the ball (m/s^2).
    pub force: [f32; 3],
    /// Start time in s (default 0).
    pub start: Option<f32>,
    /// Duration in s (default 0.75).
    pub duration: Option<f32>,
}

/// `[video]`: a reference video as a folder of frames.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoSpec {
    /// Folder of image files (`.png`, `.jpg`, `.jpeg`), played in name order.
    pub frames: String,
    /// Frames per second (default 30).
    pub fps: Option<f32>,
    /// Name of the camera that filmed it.
    pub camera: Option<String>,
}

impl SceneFile {
    /// Parses TOML text; errors name the line and the key.
    pub fn parse(text: &str) -> Result<SceneFile, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}
