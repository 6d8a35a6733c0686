pub fn run(_s: f64) -> anyhow::Result<()> { Ok(()) }
