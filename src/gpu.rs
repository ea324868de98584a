//! The GPU context shared by the solver, the renderer and the viewer.
//!
//! Headless creation prefers a hardware adapter and falls back to a software one (Mesa
//! lavapipe on Linux), saying which it picked. `PHYSDREAMER_ADAPTER` (or the CLI's
//! `--adapter`) forces a choice: `hardware`, `software`, or any other text to pick the first
//! adapter whose name contains it (case-insensitive).

use anyhow::{anyhow, bail, Context, Result};
use wgpu::util::DeviceExt;

/// Which adapter to use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// Best hardware adapter, else a software one.
    #[default]
    Auto,
    Hardware,
    Software,
    /// First adapter whose name contains this text (case-insensitive).
    Named(String),
}

impl AdapterChoice {
    /// Parses `auto`, `hardware`, `software` or a name fragment.
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => AdapterChoice::Auto,
            "hardware" | "gpu" => AdapterChoice::Hardware,
            "software" | "cpu" => AdapterChoice::Software,
            other => AdapterChoice::Named(other.to_string()),
        }
    }

    /// The choice named by `PHYSDREAMER_ADAPTER`, or `Auto`.
    pub fn from_env() -> Self {
        std::env::var("PHYSDREAMER_ADAPTER")
            .map(|s| Self::parse(&s))
            .unwrap_or_default()
    }
}

/// Device, queue and what was picked; clones share the same device.
#[derive(Clone)]
pub struct GpuContext {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
}

fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

/// Compute threads asked of Mesa's software driver (lavapipe/llvmpipe) per CPU core.
pub const SOFTWARE_THREADS_PER_CORE: usize = 4;
/// At most this many: the driver's own limit (Mesa's `LP_MAX_THREADS`).
pub const SOFTWARE_THREADS_MAX: usize = 32;
/// The environment variable the driver reads its thread count from.
const LP_NUM_THREADS: &str = "LP_NUM_THREADS";

/// Sizes the compute thread pool of Mesa's software driver: unless `LP_NUM_THREADS` is set
/// already, sets it to [`SOFTWARE_THREADS_PER_CORE`] threads per CPU core (at most
/// [`SOFTWARE_THREADS_MAX`]). The driver cuts every dispatch into one contiguous run of
/// workgroups per thread, fixed in advance; with one thread per core, a dispatch lasts as
/// long as its slowest run (P2G's blocks hold unequal numbers of particles) while the other
/// cores wait, and a core lent for a moment to another thread stalls its whole run. Smaller
/// runs, taken by whichever thread is free, keep the cores busy. The results do not depend on it
/// (the solver's sums are in a fixed order). No effect on hardware adapters.
///
/// Call it first thing in `main`, before any other thread starts: it writes the process
/// environment, which the driver reads when the first context opens. Returns the value in
/// force.
pub fn size_software_threads() -> String {
    if let Some(v) = std::env::var_os(LP_NUM_THREADS) {
        return v.to_string_lossy().into_owned();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let v = (SOFTWARE_THREADS_PER_CORE * cores)
        .min(SOFTWARE_THREADS_MAX)
        .to_string();
    std::env::set_var(LP_NUM_THREADS, &v);
    v
}

impl GpuContext {
    /// A headless context for `choice`; an error lists the adapters seen when none fits.
    pub fn new(choice: &AdapterChoice) -> Result<Self> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        adapters.sort_by_key(|a| {
            (
                rank(a.get_info().device_type),
                a.get_info().backend != wgpu::Backend::Vulkan,
            )
        });
        let names: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?}, {:?})", i.name, i.device_type, i.backend)
            })
            .collect();
        let is_cpu = |a: &wgpu::Adapter| a.get_info().device_type == wgpu::DeviceType::Cpu;
        let picked = match choice {
            AdapterChoice::Auto => adapters.into_iter().next(),
            AdapterChoice::Hardware => adapters.into_iter().find(|a| !is_cpu(a)),
            AdapterChoice::Software => adapters.into_iter().find(is_cpu),
            AdapterChoice::Named(n) => adapters
                .into_iter()
                .find(|a| a.get_info().name.to_ascii_lowercase().contains(n)),
        };
        let adapter = picked.ok_or_else(|| {
            anyhow!(
                "no graphics adapter matches {choice:?}; adapters found: [{}]. On Linux without a GPU install \
                 Mesa's software Vulkan driver (Debian: apt-get install mesa-vulkan-drivers libvulkan1)",
                names.join(", ")
            )
        })?;
        let info = adapter.get_info();
        log::info!(
            "using adapter {} ({:?}, {:?})",
            info.name,
            info.device_type,
            info.backend
        );
        if info.device_type == wgpu::DeviceType::Cpu {
            if let Ok(t) = std::env::var(LP_NUM_THREADS) {
                log::info!("software adapter: {LP_NUM_THREADS}={t}");
            }
        }
        let limits = adapter.limits();
        // Optional: timestamps for the stage profiler, where the adapter has them.
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("physdreamer"),
            required_features: features,
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::default(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .with_context(|| format!("could not open device on adapter {}", info.name))?;
        Ok(GpuContext {
            instance,
            adapter,
            device,
            queue,
            info,
        })
    }

    /// A context chosen by `PHYSDREAMER_ADAPTER` (default: auto).
    pub fn from_env() -> Result<Self> {
        Self::new(&AdapterChoice::from_env())
    }

    /// One line naming the adapter, e.g. for logs and benchmark records.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.info.name, self.info.device_type, self.info.backend
        )
    }

    /// A storage buffer initialised with `data`, readable back (COPY_SRC) and writable (COPY_DST).
    pub fn storage_init<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let pad = [0u8; 16];
        let contents: Vec<u8> = if bytes.is_empty() {
            pad.to_vec()
        } else {
            bytes.to_vec()
        };
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &contents,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// A zeroed storage buffer of `size` bytes (at least 16) with extra `usage`.
    pub fn storage(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST
                | usage,
            mapped_at_creation: false,
        })
    }

    /// Copies `buffer[offset..offset + size]` to the CPU (blocking).
    pub fn read_bytes(&self, buffer: &wgpu::Buffer, offset: u64, size: u64) -> Result<Vec<u8>> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(buffer, offset, &staging, 0, size);
        self.queue.submit([enc.finish()]);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait()?;
        rx.recv()
            .context("readback callback dropped")?
            .context("mapping readback buffer")?;
        let data = slice
            .get_mapped_range()
            .map_err(|e| anyhow!("mapping readback buffer: {e:?}"))?
            .to_vec();
        staging.unmap();
        Ok(data)
    }

    /// Copies a whole buffer of `T` to the CPU (blocking).
    pub fn read<T: bytemuck::Pod>(&self, buffer: &wgpu::Buffer) -> Result<Vec<T>> {
        let bytes = self.read_bytes(buffer, 0, buffer.size())?;
        let n = bytes.len() / std::mem::size_of::<T>();
        Ok(bytemuck::pod_collect_to_vec(
            &bytes[..n * std::mem::size_of::<T>()],
        ))
    }

    /// Blocks until all submitted work is done.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| anyhow!("waiting for the GPU: {e}"))?;
        Ok(())
    }

    /// A compute pipeline from WGSL `source` (entry `entry`) with explicit `layouts`.
    pub fn compute_pipeline(
        &self,
        label: &str,
        source: &str,
        entry: &str,
        layouts: &[&wgpu::BindGroupLayout],
    ) -> Result<wgpu::ComputePipeline> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(label),
                bind_group_layouts: &layouts.iter().map(|l| Some(*l)).collect::<Vec<_>>(),
                immediate_size: 0,
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: Some(&layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(err) = pollster::block_on(scope.pop()) {
            bail!("shader {label} ({entry}) failed to build: {err}");
        }
        Ok(pipeline)
    }
}

/// How a binding is used by a compute stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// Uniform buffer bound with a dynamic offset (per-substep parameters).
    UniformDynamic,
    Uniform,
    StorageRead,
    StorageWrite,
    /// A 2D `rgba32float` texture read with `textureLoad`, bound as a read-only storage texture
    /// (on a CPU adapter its loads cost about half a sampled texture's).
    TextureRead,
    /// A 2D `rgba32float` storage texture written with `textureStore`.
    TextureWrite,
}

/// A bind group layout for compute stages with bindings 0.. in the order given.
pub fn compute_layout(
    device: &wgpu::Device,
    label: &str,
    bindings: &[Binding],
) -> wgpu::BindGroupLayout {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: match b {
                Binding::UniformDynamic | Binding::Uniform => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: *b == Binding::UniformDynamic,
                    min_binding_size: None,
                },
                Binding::StorageRead | Binding::StorageWrite => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage {
                        read_only: *b == Binding::StorageRead,
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                Binding::TextureRead | Binding::TextureWrite => wgpu::BindingType::StorageTexture {
                    access: if *b == Binding::TextureRead {
                        wgpu::StorageTextureAccess::ReadOnly
                    } else {
                        wgpu::StorageTextureAccess::WriteOnly
                    },
                    format: wgpu::TextureFormat::Rgba32Float,
                    view_dimension: wgpu::TextureViewDimension::D2,
                },
            },
            count: None,
        })
        .collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    })
}

/// A bind group binding whole buffers 0.. in order; `uniform_size` limits binding 0 when it
/// is a dynamic-offset uniform (its window is one record).
pub fn bind_buffers(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    buffers: &[&wgpu::Buffer],
    uniform_size: Option<u64>,
) -> wgpu::BindGroup {
    let resources: Vec<wgpu::BindingResource> =
        buffers.iter().map(|b| b.as_entire_binding()).collect();
    bind_resources(device, label, layout, resources, uniform_size)
}

/// A bind group binding `resources` 0.. in order; `uniform_size` limits binding 0 (a buffer)
/// when it is a dynamic-offset uniform.
pub fn bind_resources(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    mut resources: Vec<wgpu::BindingResource>,
    uniform_size: Option<u64>,
) -> wgpu::BindGroup {
    if let (Some(size), Some(wgpu::BindingResource::Buffer(b))) =
        (uniform_size, resources.first_mut())
    {
        b.size = wgpu::BufferSize::new(size);
    }
    let entries: Vec<wgpu::BindGroupEntry> = resources
        .into_iter()
        .enumerate()
        .map(|(i, resource)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource,
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &entries,
    })
}
