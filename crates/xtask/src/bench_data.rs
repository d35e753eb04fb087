pub fn run(_r: u32, _c: &std::path::Path, _o: &std::path::Path) -> anyhow::Result<()> {
    Ok(())
}
