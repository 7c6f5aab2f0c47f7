//! The processes a process started, read from `/proc`: what the tests of model workers count.

/// The processes whose parent is `parent` and whose command line has the argument `argument`
/// (`model-worker`, say).
pub fn children_with_argument(parent: u32, argument: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The parent's pid is the second field after the parenthesised command name.
            let ppid = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.split(' ').nth(1)?.parse::<u32>().ok());
            let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            ppid == Some(parent)
                && command
                    .split(|&b| b == 0)
                    .any(|arg| arg == argument.as_bytes())
        })
        .collect()
}
