//! Markdown as GitHub reads it, as much as the link check needs: fenced
//! code, inline code spans, link destinations, headings and their anchors
//! (GitHub's slug rules), sections.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Every Markdown file under `dir`, skipping build output, VCS data and
/// the fuzzer's working folders.
pub fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            if matches!(name.as_str(), "target" | ".git" | "node_modules")
                || (dir.ends_with("fuzz") && matches!(name.as_str(), "corpus" | "artifacts"))
            {
                continue;
            }
            markdown_files(&path, out);
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// The lines of a Markdown file outside fenced code blocks, with their
/// numbers (1-based); lines inside fences are replaced by empty strings so
/// numbering stays right.
pub fn lines_outside_fences(text: &str) -> Vec<(usize, String)> {
    let mut fence: Option<(char, usize)> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |m| trimmed.chars().take_while(|c| *c == m).count());
        match fence {
            None if run >= 3 => {
                fence = Some((marker.unwrap(), run));
                out.push((i + 1, String::new()));
            }
            Some((m, n)) if marker == Some(m) && run >= n && trimmed[run..].trim().is_empty() => {
                fence = None;
                out.push((i + 1, String::new()));
            }
            Some(_) => out.push((i + 1, String::new())),
            None => out.push((i + 1, line.to_string())),
        }
    }
    out
}

/// `line` with the contents of inline code spans blanked out (the
/// backticks stay), so that code is never read as a link.
pub fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        // Look for the closing run of exactly the same length.
        let mut j = i + run;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let r = chars[j..].iter().take_while(|c| **c == '`').count();
                if r == run {
                    close = Some(j);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => {
                out.extend(std::iter::repeat_n('`', run));
                out.extend(std::iter::repeat_n(' ', j - i - run));
                out.extend(std::iter::repeat_n('`', run));
                i = j + run;
            }
            None => {
                out.extend(std::iter::repeat_n('`', run));
                i += run;
            }
        }
    }
    out
}

/// The destinations of the links and images of one line (code spans
/// already blanked): inline `[text](dest "title")`, reference definitions
/// `[id]: dest`, and HTML `href="…"` / `src="…"`.
pub fn link_destinations(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let trimmed = line.trim_start();
    // A reference definition: `]:` closes the line's first bracket.
    if let Some(end) = trimmed
        .strip_prefix('[')
        .and_then(|_| trimmed.find(']'))
        .filter(|end| trimmed[end + 1..].starts_with(':'))
    {
        let dest = trimmed[end + 2..].split_whitespace().next().unwrap_or("");
        if !dest.is_empty() {
            out.push(
                dest.trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string(),
            );
        }
    }
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(pos) = line[i..].find("](") {
        let start = i + pos + 2;
        let mut depth = 0usize;
        let mut end = start;
        while end < bytes.len() {
            match bytes[end] {
                b'(' => depth += 1,
                b')' if depth == 0 => break,
                b')' => depth -= 1,
                _ => {}
            }
            end += 1;
        }
        let inner = line[start..end].trim();
        let dest = if let Some(rest) = inner.strip_prefix('<') {
            rest.split('>').next().unwrap_or("")
        } else {
            inner.split_whitespace().next().unwrap_or("")
        };
        out.push(dest.to_string());
        i = end.min(line.len());
    }
    out.extend(html_attributes(line, &["href", "src"]));
    out
}

/// The values of the HTML attributes `names` (`href="…"`) in `line`.
pub fn html_attributes(line: &str, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        let attr = format!(" {name}=\"");
        let mut rest = line;
        while let Some(pos) = rest.find(&attr) {
            let after = &rest[pos + attr.len()..];
            if let Some(end) = after.find('"') {
                out.push(after[..end].to_string());
            }
            rest = after;
        }
    }
    out
}

/// GitHub's anchor for a heading's text: inline markup removed, lower
/// case, every character that is not a letter, a digit, `-`, `_` or a
/// space dropped, spaces turned into `-`.
pub fn slug(heading: &str) -> String {
    // Rendered text: links keep their text, code spans their content,
    // emphasis markers go.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match (after.find("]("), after.find(']')) {
            (Some(close), Some(first)) if close == first => {
                text.push_str(&after[..close]);
                let tail = &after[close + 2..];
                rest = tail.find(')').map_or("", |p| &tail[p + 1..]);
            }
            _ => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file: one per heading (ATX and setext), with
/// GitHub's `-1`, `-2`… for repeated slugs, plus explicit HTML `id` /
/// `name` attributes.
pub fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut add = |heading: &str, out: &mut BTreeSet<String>| {
        let base = slug(heading.trim());
        let n = seen.entry(base.clone()).or_insert(0);
        let anchor = if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        *n += 1;
        out.insert(anchor);
    };
    let lines = lines_outside_fences(text);
    for (k, (_, line)) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes)
            && line.len() - trimmed.len() < 4
            && trimmed[hashes..].starts_with([' ', '\t'])
        {
            let body = trimmed[hashes..].trim();
            // An optional closing run of `#`.
            let body = body.trim_end_matches('#').trim_end();
            add(body, &mut out);
            continue;
        }
        // Setext: a paragraph line underlined with `=` or `-`.
        let under = line.trim();
        if k > 0
            && !under.is_empty()
            && (under.chars().all(|c| c == '=') || under.chars().all(|c| c == '-'))
        {
            let prev = lines[k - 1].1.trim();
            let paragraph = !prev.is_empty()
                && !prev.starts_with(['|', '#', '-', '*', '>', '+'])
                && !prev.chars().next().is_some_and(|c| c.is_ascii_digit())
                && (k < 2 || lines[k - 2].1.trim().is_empty());
            if paragraph {
                add(prev, &mut out);
            }
        }
    }
    for (_, line) in &lines {
        out.extend(html_attributes(line, &["id", "name"]));
    }
    out
}

/// `%XX` escapes of a link destination decoded.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `path` with `.` and `..` resolved lexically; `None` when it climbs
/// above the root.
pub fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// What is wrong with one link destination of `file` (a path relative to
/// the root), if anything. Links with a scheme (`https:`, `mailto:`) are
/// not relative and not checked here.
pub fn check_link(root: &Path, file: &Path, dest: &str) -> Option<String> {
    if dest.is_empty() {
        return Some("an empty link".into());
    }
    let scheme = dest.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if scheme || dest.starts_with("//") {
        return None;
    }
    let (path_part, anchor) = match dest.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (dest, None),
    };
    let path_part = path_part.split('?').next().unwrap_or("");
    let target = if path_part.is_empty() {
        file.to_path_buf()
    } else if path_part.starts_with('/') {
        // GitHub reads a leading `/` as the repository's root.
        PathBuf::from(percent_decode(path_part.trim_start_matches('/')))
    } else {
        file.parent()
            .unwrap_or(Path::new(""))
            .join(percent_decode(path_part))
    };
    let Some(target) = normalise(&target) else {
        return Some(format!("`{dest}` leaves the repository"));
    };
    let on_disk = root.join(&target);
    if !on_disk.exists() {
        return Some(format!("`{dest}`: {} does not exist", target.display()));
    }
    let anchor = anchor?;
    let anchor = percent_decode(anchor);
    let is_markdown = target.extension().is_some_and(|e| e == "md");
    if !is_markdown {
        // A line anchor of a source file (`#L12`, `#L12-L20`).
        let lines = std::fs::read_to_string(&on_disk).map_or(0, |t| t.lines().count());
        let ok = anchor
            .strip_prefix('L')
            .map(|r| {
                r.split("-L")
                    .all(|n| n.parse::<usize>().is_ok_and(|n| n >= 1 && n <= lines))
            })
            .unwrap_or(false);
        return (!ok).then(|| format!("`{dest}`: #{anchor} is not a line of {}", target.display()));
    }
    let text = std::fs::read_to_string(&on_disk).expect("read a linked Markdown file");
    let known = anchors(&text);
    (!known.contains(&anchor.to_lowercase()) && !known.contains(&anchor)).then(|| {
        format!(
            "`{dest}`: {} has no heading with the anchor #{anchor}",
            target.display()
        )
    })
}

/// A Markdown page split into sections: heading text → the
/// section's text up to the next heading of the same or a higher level.
pub fn sections(doc: &str) -> Vec<(String, String)> {
    let lines: Vec<String> = lines_outside_fences(doc)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    let raw: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        let level = line.chars().take_while(|c| *c == '#').count();
        if level == 0 || !line[level..].starts_with(' ') {
            continue;
        }
        let end = lines[k + 1..]
            .iter()
            .position(|l| {
                let n = l.chars().take_while(|c| *c == '#').count();
                n > 0 && n <= level && l[n..].starts_with(' ')
            })
            .map_or(lines.len(), |p| k + 1 + p);
        out.push((line[level..].trim().to_string(), raw[k..end].join("\n")));
    }
    out
}

/// The words inside inline code spans of `text` (`` `a.b = "c"` `` gives
/// `a`, `b`, `c` and `a.b`).
pub fn code_words(text: &str) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    for (n, span) in text.split('`').enumerate() {
        if n % 2 == 1 {
            for w in span.split(|c: char| {
                !(c.is_alphanumeric() || c == '_' || c == '.' || c == '-' || c == '*')
            }) {
                let w = w.trim_matches('.');
                if !w.is_empty() {
                    words.insert(w.to_string());
                    for part in w.split('.') {
                        words.insert(part.to_string());
                    }
                }
            }
        }
    }
    words
}
