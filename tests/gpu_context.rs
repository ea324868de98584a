//! Adapter selection: the parser, and a clear error that lists the adapters when none fits.

use physdreamer::gpu::{AdapterChoice, GpuContext};

#[test]
fn adapter_choice_parses() {
    assert_eq!(AdapterChoice::parse("auto"), AdapterChoice::Auto);
    assert_eq!(AdapterChoice::parse(""), AdapterChoice::Auto);
    assert_eq!(AdapterChoice::parse("Software"), AdapterChoice::Software);
    assert_eq!(AdapterChoice::parse("cpu"), AdapterChoice::Software);
    assert_eq!(AdapterChoice::parse("GPU"), AdapterChoice::Hardware);
    assert_eq!(
        AdapterChoice::parse(" LLVMpipe "),
        AdapterChoice::Named("llvmpipe".into())
    );
}

#[test]
fn unknown_adapter_name_lists_the_adapters() {
    let err = GpuContext::new(&AdapterChoice::Named("no-such-adapter-xyz".into()))
        .err()
        .expect("no adapter has that name");
    let msg = err.to_string();
    assert!(msg.contains("no-such-adapter-xyz"), "{msg}");
    assert!(msg.contains("adapters found"), "{msg}");
}

#[test]
fn the_picked_adapter_is_described() {
    let ctx = GpuContext::from_env().unwrap();
    let d = ctx.describe();
    assert!(d.contains(&ctx.info.name), "{d}");
    assert!(d.contains(&format!("{:?}", ctx.info.backend)), "{d}");
}
