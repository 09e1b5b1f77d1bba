//! The documentation holds together: every relative link in every Markdown
//! file of the repository resolves (to a file or folder, and a `#anchor` to
//! a heading of the Markdown file it names, by GitHub's slug rules), and
//! every key the profile loader reads is in the profile reference
//! (`docs/profile.md`).
//!
//! The profile's keys are read from the code, not from a list kept by
//! hand: every `struct` and `enum` in `conformance/src` that derives
//! `Deserialize` is parsed (field names, `#[serde(rename, rename_all,
//! alias, skip, flatten)]`), and the keys are those reachable from the
//! struct named `Profile`, following field types by name. A key added to
//! the loader and not documented fails this test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// The repository's root (the workspace).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

// ---------------------------------------------------------------------------
// Markdown: links, headings, anchors
// ---------------------------------------------------------------------------

/// Every Markdown file under `dir`, skipping build output, VCS data and
/// the fuzzer's working folders.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
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
fn lines_outside_fences(text: &str) -> Vec<(usize, String)> {
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
fn without_code_spans(line: &str) -> String {
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
fn link_destinations(line: &str) -> Vec<String> {
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
    for attr in ["href=\"", "src=\""] {
        let mut rest = line;
        while let Some(pos) = rest.find(attr) {
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
fn slug(heading: &str) -> String {
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
fn anchors(text: &str) -> BTreeSet<String> {
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
        for attr in ["id=\"", "name=\""] {
            let mut rest = line.as_str();
            while let Some(pos) = rest.find(attr) {
                let after = &rest[pos + attr.len()..];
                if let Some(end) = after.find('"') {
                    out.insert(after[..end].to_string());
                }
                rest = after;
            }
        }
    }
    out
}

/// `%XX` escapes of a link destination decoded.
fn percent_decode(s: &str) -> String {
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
fn normalise(path: &Path) -> Option<PathBuf> {
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
fn check_link(root: &Path, file: &Path, dest: &str) -> Option<String> {
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

#[test]
fn every_relative_link_in_every_markdown_file_resolves() {
    let root = repo_root();
    let mut files = Vec::new();
    markdown_files(&root, &mut files);
    let readme = root.join("README.md");
    assert!(files.contains(&readme), "README.md found");
    assert!(
        files.iter().any(|f| f.starts_with(root.join("docs"))),
        "docs/ found"
    );
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in lines_outside_fences(&text) {
            for dest in link_destinations(&without_code_spans(&line)) {
                checked += 1;
                if let Some(problem) = check_link(&root, rel, &dest) {
                    broken.push(format!("{}:{n}: {problem}", rel.display()));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser blind?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_checker_sees_links_and_headings_as_github_does() {
    assert_eq!(
        slug("`[policy]`: what the target enforces"),
        "policy-what-the-target-enforces"
    );
    assert_eq!(slug("2. Run"), "2-run");
    assert_eq!(slug("`conformance restore`"), "conformance-restore");
    assert_eq!(
        slug("The [vendor guide](x.md) – quick"),
        "the-vendor-guide--quick"
    );
    assert_eq!(slug("Issue 9: the S11 path"), "issue-9-the-s11-path");
    let doc = "# A\n\n## A\n\n```\n# not a heading\n```\nSetext\n---\n";
    let found = anchors(doc);
    assert!(found.contains("a") && found.contains("a-1") && found.contains("setext"));
    assert!(!found.contains("not-a-heading"));
    assert_eq!(
        link_destinations(&without_code_spans(
            "see [`x`](a.md#b) and `[no](c.md)` and [y](<d e.md> \"t\")"
        )),
        vec!["a.md#b".to_string(), "d e.md".to_string()]
    );
    assert_eq!(
        link_destinations("[id]: ../x.md"),
        vec!["../x.md".to_string()]
    );
    assert_eq!(
        link_destinations("[a](b.md): c]: d"),
        vec!["b.md".to_string()]
    );
    let root = repo_root();
    let readme = Path::new("README.md");
    assert!(check_link(&root, readme, "docs/profile.md#accounts").is_none());
    assert!(check_link(&root, readme, "docs/profile.md#no-such-heading").is_some());
    assert!(check_link(&root, readme, "docs/no-such-page.md").is_some());
    assert!(check_link(&root, readme, "../outside.md").is_some());
    assert!(check_link(&root, readme, "https://example.com/x").is_none());
}

// ---------------------------------------------------------------------------
// Profile keys: read from the serde structs of conformance/src
// ---------------------------------------------------------------------------

/// A token of Rust source, as much as this test needs.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

/// Rust source as tokens: comments (doc comments included), char and
/// number literals and lifetimes dropped; strings kept (raw ones too).
fn lex(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == 'r'
            && matches!(c.get(i + 1), Some('"') | Some('#'))
            && c[i + 1..].iter().find(|x| **x != '#') == Some(&'"')
        {
            let hashes = c[i + 1..].iter().take_while(|x| **x == '#').count();
            let start = i + 2 + hashes;
            let mut j = start;
            loop {
                if c[j] == '"'
                    && c[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|x| **x == '#')
                        .count()
                        == hashes
                {
                    break;
                }
                j += 1;
            }
            out.push(Tok::Str(c[start..j].iter().collect()));
            i = j + 1 + hashes;
        } else if ch == '"' || (ch == 'b' && c.get(i + 1) == Some(&'"')) {
            let mut j = if ch == 'b' { i + 2 } else { i + 1 };
            let mut s = String::new();
            while c[j] != '"' {
                if c[j] == '\\' {
                    s.push(c[j + 1]);
                    j += 2;
                } else {
                    s.push(c[j]);
                    j += 1;
                }
            }
            out.push(Tok::Str(s));
            i = j + 1;
        } else if ch == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while c[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.') {
                if c[i] == '.' && !c.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                    break;
                }
                i += 1;
            }
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

/// The index just past the group that opens at `open` (`(`, `[`, `{`, or
/// `<` for generics), nested groups included.
fn group_end(t: &[Tok], open: usize) -> usize {
    let (o, c) = match t[open] {
        Tok::Punct('(') => ('(', ')'),
        Tok::Punct('[') => ('[', ']'),
        Tok::Punct('{') => ('{', '}'),
        Tok::Punct('<') => ('<', '>'),
        ref other => panic!("no group opens at {other:?}"),
    };
    let mut depth = 0;
    for (k, tok) in t.iter().enumerate().skip(open) {
        if *tok == Tok::Punct(o) {
            depth += 1;
        } else if *tok == Tok::Punct(c)
            && !(c == '>' && matches!(t.get(k - 1), Some(Tok::Punct('-' | '='))))
        {
            depth -= 1;
            if depth == 0 {
                return k + 1;
            }
        }
    }
    panic!("unclosed group");
}

/// One `#[serde(...)]` item: `name`, or `name = "value"`.
type SerdeArgs = Vec<(String, Option<String>)>;

/// The outer attributes starting at `i`: whether one derives
/// `Deserialize`, the `serde(...)` arguments, and the index after them.
fn attributes(t: &[Tok], mut i: usize) -> (bool, SerdeArgs, usize) {
    let mut derives = false;
    let mut serde = Vec::new();
    while t.get(i) == Some(&Tok::Punct('#')) && t.get(i + 1) == Some(&Tok::Punct('[')) {
        let end = group_end(t, i + 1);
        let inner = &t[i + 2..end - 1];
        match inner.first() {
            Some(Tok::Ident(name)) if name == "derive" => {
                derives |= inner.contains(&Tok::Ident("Deserialize".into()));
            }
            Some(Tok::Ident(name)) if name == "serde" => {
                let args = &inner[2..inner.len() - 1];
                let mut k = 0;
                while k < args.len() {
                    let Tok::Ident(key) = &args[k] else {
                        k += 1;
                        continue;
                    };
                    k += 1;
                    let mut value = None;
                    if args.get(k) == Some(&Tok::Punct('=')) {
                        if let Some(Tok::Str(v)) = args.get(k + 1) {
                            value = Some(v.clone());
                        }
                        k += 2;
                    } else if args.get(k) == Some(&Tok::Punct('(')) {
                        // rename(deserialize = "x", serialize = "y")
                        let end = group_end(args, k);
                        let sub = &args[k + 1..end - 1];
                        for w in sub.windows(3) {
                            if let [Tok::Ident(d), Tok::Punct('='), Tok::Str(v)] = w
                                && d == "deserialize"
                            {
                                value = Some(v.clone());
                            }
                        }
                        k = end;
                    }
                    serde.push((key.clone(), value));
                    while k < args.len() && args[k] != Tok::Punct(',') {
                        k += 1;
                    }
                    k += 1;
                }
            }
            _ => {}
        }
        i = end;
    }
    (derives, serde, i)
}

fn arg<'a>(args: &'a SerdeArgs, name: &str) -> Option<&'a Option<String>> {
    args.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A Rust identifier as serde names it under `rename_all` (field names
/// are snake case, variant names camel case).
fn serde_case(name: &str, rule: Option<&str>, is_variant: bool) -> String {
    let words: Vec<String> = if is_variant {
        let mut w: Vec<String> = Vec::new();
        for ch in name.chars() {
            if ch.is_uppercase() || w.is_empty() {
                w.push(String::new());
            }
            w.last_mut().unwrap().push(ch);
        }
        w.iter().map(|s| s.to_lowercase()).collect()
    } else {
        name.split('_').map(str::to_string).collect()
    };
    let cap = |s: &String| {
        let mut c = s.chars();
        c.next().map_or(String::new(), |f| {
            f.to_uppercase().collect::<String>() + c.as_str()
        })
    };
    match rule {
        None if is_variant => name.to_string(),
        None => name.to_string(),
        Some("lowercase") => words.concat(),
        Some("UPPERCASE") => words.concat().to_uppercase(),
        Some("snake_case") => words.join("_"),
        Some("SCREAMING_SNAKE_CASE") => words.join("_").to_uppercase(),
        Some("kebab-case") => words.join("-"),
        Some("SCREAMING-KEBAB-CASE") => words.join("-").to_uppercase(),
        Some("camelCase") => {
            let mut s = words[0].clone();
            for w in &words[1..] {
                s.push_str(&cap(w));
            }
            s
        }
        Some("PascalCase") => words.iter().map(cap).collect(),
        Some(other) => panic!("rename_all = {other:?} is not known to this test"),
    }
}

/// A field of a `Deserialize` struct: the key(s) it reads and its type's
/// identifiers.
#[derive(Debug)]
struct Field {
    keys: Vec<String>,
    flatten: bool,
    type_idents: Vec<String>,
}

/// A `Deserialize` item of `conformance/src`.
#[derive(Debug)]
enum Item {
    Struct {
        file: PathBuf,
        fields: Vec<Field>,
    },
    /// Unit variants' names as the TOML file writes them.
    Enum {
        file: PathBuf,
        values: Vec<String>,
    },
}

/// Every `struct` and `enum` deriving `Deserialize` in `src` (one file).
fn deserialize_items(file: &Path, src: &str, out: &mut BTreeMap<String, Vec<Item>>) {
    let t = lex(src);
    let mut i = 0;
    while i < t.len() {
        if !(t[i] == Tok::Punct('#') && t.get(i + 1) == Some(&Tok::Punct('['))) {
            i += 1;
            continue;
        }
        let (derives, item_args, mut k) = attributes(&t, i);
        // Visibility.
        if t.get(k) == Some(&Tok::Ident("pub".into())) {
            k += 1;
            if t.get(k) == Some(&Tok::Punct('(')) {
                k = group_end(&t, k);
            }
        }
        let kind = match t.get(k) {
            Some(Tok::Ident(s)) if s == "struct" || s == "enum" => s.clone(),
            _ => {
                i = k.max(i + 1);
                continue;
            }
        };
        let Some(Tok::Ident(name)) = t.get(k + 1).cloned() else {
            panic!("{}: {kind} without a name", file.display());
        };
        k += 2;
        if t.get(k) == Some(&Tok::Punct('<')) {
            k = group_end(&t, k);
        }
        if !derives {
            i = k;
            continue;
        }
        assert_eq!(
            t.get(k),
            Some(&Tok::Punct('{')),
            "{}: {name} derives Deserialize but is not a braced {kind}: teach this test its shape",
            file.display()
        );
        let end = group_end(&t, k);
        let body = &t[k + 1..end - 1];
        let rename_all = arg(&item_args, "rename_all").cloned().flatten();
        let item = if kind == "struct" {
            Item::Struct {
                file: file.to_path_buf(),
                fields: struct_fields(file, &name, body, rename_all.as_deref()),
            }
        } else {
            Item::Enum {
                file: file.to_path_buf(),
                values: enum_values(file, &name, body, rename_all.as_deref()),
            }
        };
        out.entry(name).or_default().push(item);
        i = end;
    }
}

fn struct_fields(file: &Path, name: &str, body: &[Tok], rename_all: Option<&str>) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut k = 0;
    while k < body.len() {
        let (_, args, mut j) = attributes(body, k);
        if body.get(j) == Some(&Tok::Ident("pub".into())) {
            j += 1;
            if body.get(j) == Some(&Tok::Punct('(')) {
                j = group_end(body, j);
            }
        }
        let Some(Tok::Ident(field)) = body.get(j).cloned() else {
            break;
        };
        assert_eq!(
            body.get(j + 1),
            Some(&Tok::Punct(':')),
            "{}: {name}.{field}: expected `:`",
            file.display()
        );
        j += 2;
        let start = j;
        let mut depth = 0i32;
        while j < body.len() {
            match &body[j] {
                Tok::Punct('<' | '(' | '[') => depth += 1,
                Tok::Punct('>' | ')' | ']') => depth -= 1,
                Tok::Punct(',') if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let type_idents = body[start..j]
            .iter()
            .filter_map(|t| match t {
                Tok::Ident(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let skipped = arg(&args, "skip").is_some() || arg(&args, "skip_deserializing").is_some();
        if !skipped {
            let mut keys = vec![match arg(&args, "rename") {
                Some(Some(v)) => v.clone(),
                _ => serde_case(&field, rename_all, false),
            }];
            keys.extend(
                args.iter()
                    .filter(|(k, _)| k == "alias")
                    .filter_map(|(_, v)| v.clone()),
            );
            fields.push(Field {
                keys,
                flatten: arg(&args, "flatten").is_some(),
                type_idents,
            });
        }
        k = j + 1;
    }
    fields
}

fn enum_values(file: &Path, name: &str, body: &[Tok], rename_all: Option<&str>) -> Vec<String> {
    let mut values = Vec::new();
    let mut k = 0;
    while k < body.len() {
        let (_, args, j) = attributes(body, k);
        let Some(Tok::Ident(variant)) = body.get(j).cloned() else {
            break;
        };
        assert!(
            matches!(body.get(j + 1), None | Some(Tok::Punct(','))),
            "{}: {name}::{variant} carries data: teach this test how the profile writes it",
            file.display()
        );
        if arg(&args, "skip").is_none() && arg(&args, "skip_deserializing").is_none() {
            values.push(match arg(&args, "rename") {
                Some(Some(v)) => v.clone(),
                _ => serde_case(&variant, rename_all, true),
            });
            values.extend(
                args.iter()
                    .filter(|(k, _)| k == "alias")
                    .filter_map(|(_, v)| v.clone()),
            );
        }
        k = j + 2;
    }
    values
}

/// What the profile loader reads: every key as a dotted path of tables
/// (`tokens.private_key`, `accounts.active.subject`), and for keys whose
/// value is one of a fixed set of words, those words.
#[derive(Debug, Default)]
struct ProfileKeys {
    /// Table path (empty: the top level) → its keys.
    tables: BTreeMap<Vec<String>, BTreeSet<String>>,
    /// (table path, key) → the words its value may be.
    values: BTreeMap<(Vec<String>, String), Vec<String>>,
}

fn all_deserialize_items() -> BTreeMap<String, Vec<Item>> {
    let src = repo_root().join("conformance/src");
    let mut files = Vec::new();
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    rust_files(&src, &mut files);
    files.sort();
    let mut items = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        deserialize_items(&file, &text, &mut items);
    }
    items
}

/// The item a type name means, seen from `from`: the only `Deserialize`
/// item of that name, or the one in the same file.
fn resolve<'a>(
    items: &'a BTreeMap<String, Vec<Item>>,
    name: &str,
    from: &Path,
) -> Option<&'a Item> {
    let candidates = items.get(name)?;
    if candidates.len() == 1 {
        return candidates.first();
    }
    let same_file: Vec<_> = candidates
        .iter()
        .filter(|it| match it {
            Item::Struct { file, .. } | Item::Enum { file, .. } => file == from,
        })
        .collect();
    assert_eq!(
        same_file.len(),
        1,
        "{name} names {} Deserialize items; this test cannot tell which the profile means",
        candidates.len()
    );
    same_file.first().copied()
}

fn collect_keys(
    items: &BTreeMap<String, Vec<Item>>,
    name: &str,
    table: Vec<String>,
    from: &Path,
    keys: &mut ProfileKeys,
) {
    let Some(Item::Struct { file, fields }) = resolve(items, name, from) else {
        panic!("{name} is not a Deserialize struct");
    };
    keys.tables.entry(table.clone()).or_default();
    for field in fields {
        // The first identifier of the type that is a Deserialize item of
        // the crate: `Option<Account>` → Account.
        let inner = field
            .type_idents
            .iter()
            .find(|id| items.contains_key(id.as_str()))
            .cloned();
        let is_map = field.type_idents.iter().any(|id| id.ends_with("Map"));
        if field.flatten {
            let inner = inner.expect("a flattened field is a struct of the crate");
            collect_keys(items, &inner, table.clone(), file, keys);
            continue;
        }
        for key in &field.keys {
            keys.tables.get_mut(&table).unwrap().insert(key.clone());
            match inner.as_deref().and_then(|n| resolve(items, n, file)) {
                Some(Item::Struct { .. }) => {
                    let mut sub = table.clone();
                    sub.push(key.clone());
                    if is_map {
                        sub.push("*".into());
                    }
                    collect_keys(items, inner.as_deref().unwrap(), sub, file, keys);
                }
                Some(Item::Enum { values, .. }) => {
                    keys.values
                        .insert((table.clone(), key.clone()), values.clone());
                }
                None => {}
            }
        }
    }
}

fn profile_keys() -> ProfileKeys {
    let items = all_deserialize_items();
    let roots: Vec<_> = items
        .get("Profile")
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .collect();
    assert_eq!(
        roots.len(),
        1,
        "expected exactly one `struct Profile` deriving Deserialize in conformance/src"
    );
    let Item::Struct { file, .. } = roots[0] else {
        panic!("Profile is not a struct");
    };
    let mut keys = ProfileKeys::default();
    collect_keys(&items, "Profile", Vec::new(), &file.clone(), &mut keys);
    keys
}

/// The profile reference split into sections: heading text → the
/// section's text up to the next heading of the same or a higher level.
fn sections(doc: &str) -> Vec<(String, String)> {
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
fn code_words(text: &str) -> BTreeSet<String> {
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

/// The section of the profile reference that documents `table`: the one
/// whose heading names it in code (`` `[tokens]` ``), or names all its
/// sub-tables (`` `[accounts.*]` `` for `accounts`), or names it and its
/// siblings (`` `[accounts.*]` `` for `accounts.active`); the whole page
/// for the top level.
fn section_of<'a>(
    sections: &'a [(String, String)],
    doc: &'a str,
    table: &[String],
) -> Option<&'a str> {
    if table.is_empty() {
        return Some(doc);
    }
    let exact = format!("`[{}]`", table.join("."));
    let children = format!("`[{}.*]`", table.join("."));
    let mut siblings = table.to_vec();
    *siblings.last_mut().unwrap() = "*".into();
    let siblings = format!("`[{}]`", siblings.join("."));
    [exact, children, siblings]
        .iter()
        .find_map(|name| sections.iter().find(|(h, _)| h.contains(name.as_str())))
        .map(|(_, s)| s.as_str())
}

/// The profile keys the reference does not document, as messages.
fn undocumented(keys: &ProfileKeys, doc: &str) -> Vec<String> {
    let secs = sections(doc);
    let mut missing = Vec::new();
    for (table, names) in &keys.tables {
        let path = |k: &str| {
            let mut p = table.clone();
            p.push(k.to_string());
            p.join(".")
        };
        let Some(section) = section_of(&secs, doc, table) else {
            missing.push(format!(
                "table [{}]: no heading names `[{}]`",
                table.join("."),
                table.join(".")
            ));
            continue;
        };
        let words = code_words(section);
        for name in names {
            if !words.contains(name) {
                missing.push(format!(
                    "key `{}`: not in its section as `{name}`",
                    path(name)
                ));
            }
            if let Some(values) = keys.values.get(&(table.clone(), name.clone())) {
                for v in values {
                    if !words.contains(v) {
                        missing.push(format!(
                            "value `{v}` of `{}`: not in its section",
                            path(name)
                        ));
                    }
                }
            }
        }
    }
    missing
}

#[test]
fn every_profile_key_the_loader_reads_is_in_the_profile_reference() {
    let keys = profile_keys();
    // The parser found the loader's shape, not nothing.
    let count: usize = keys.tables.values().map(BTreeSet::len).sum();
    assert!(
        count >= 40,
        "only {count} profile keys found: {:?}",
        keys.tables
    );
    for table in [
        &["tokens"][..],
        &["accounts"],
        &["accounts", "active"],
        &["http"],
    ] {
        let table: Vec<String> = table.iter().map(|s| s.to_string()).collect();
        assert!(keys.tables.contains_key(&table), "no table {table:?} found");
    }
    let doc = std::fs::read_to_string(repo_root().join("docs/profile.md")).unwrap();
    let missing = undocumented(&keys, &doc);
    assert!(
        missing.is_empty(),
        "docs/profile.md does not document what the profile loader reads:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_key_check_fails_for_an_undocumented_key() {
    let mut keys = profile_keys();
    let doc = std::fs::read_to_string(repo_root().join("docs/profile.md")).unwrap();
    keys.tables
        .get_mut(&vec!["tokens".to_string()])
        .unwrap()
        .insert("no_such_key_documented".into());
    let missing = undocumented(&keys, &doc);
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(missing[0].contains("tokens.no_such_key_documented"));
}

#[test]
fn the_serde_reader_understands_renames_flatten_and_enums() {
    let src = r#"
        /// doc with `struct Fake` and "quotes"
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub(crate) struct Root<'a> {
            #[serde(rename = "base")] pub url: Option<&'a str>,
            max_wait_secs: u64,
            #[serde(skip)] dir: PathBuf,
            #[serde(flatten)] extra: Extra,
            mode: Option<Mode>,
            map: BTreeMap<String, Extra>, // a comment with a ' quote
        }
        #[derive(Deserialize)]
        struct Extra { #[serde(alias = "old")] new_name: String }
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Mode { FastPath, #[serde(rename = "slow")] Slow }
        #[derive(Debug)]
        struct NotSerde { x: u8 }
    "#;
    let mut items = BTreeMap::new();
    deserialize_items(Path::new("x.rs"), src, &mut items);
    assert_eq!(items.keys().collect::<Vec<_>>(), ["Extra", "Mode", "Root"]);
    let mut keys = ProfileKeys::default();
    collect_keys(&items, "Root", Vec::new(), Path::new("x.rs"), &mut keys);
    let top: Vec<_> = keys.tables[&Vec::<String>::new()].iter().cloned().collect();
    assert_eq!(
        top,
        ["base", "map", "max-wait-secs", "mode", "new_name", "old"]
    );
    assert!(
        keys.tables
            .contains_key(&vec!["map".to_string(), "*".to_string()])
    );
    assert_eq!(
        keys.values[&(Vec::new(), "mode".to_string())],
        ["fast_path", "slow"]
    );
}
