//! The keys a serde loader reads, from its source: a small Rust lexer and
//! a reader of the `struct`s and `enum`s that derive `Deserialize` (field
//! names, `#[serde(rename, rename_all, alias, skip, flatten)]`, unit
//! variants), and the keys reachable from the struct named `Profile` in
//! `conformance/src`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::repo_root;

/// A token of Rust source, as much as this test needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

/// Rust source as tokens: comments (doc comments included), char and
/// number literals and lifetimes dropped; strings kept (raw ones too).
pub fn lex(src: &str) -> Vec<Tok> {
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
pub fn group_end(t: &[Tok], open: usize) -> usize {
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
pub type SerdeArgs = Vec<(String, Option<String>)>;

/// The outer attributes starting at `i`: whether one derives
/// `Deserialize`, the `serde(...)` arguments, and the index after them.
pub fn attributes(t: &[Tok], mut i: usize) -> (bool, SerdeArgs, usize) {
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

pub fn arg<'a>(args: &'a SerdeArgs, name: &str) -> Option<&'a Option<String>> {
    args.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A Rust identifier as serde names it under `rename_all` (field names
/// are snake case, variant names camel case).
pub fn serde_case(name: &str, rule: Option<&str>, is_variant: bool) -> String {
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
pub struct Field {
    keys: Vec<String>,
    flatten: bool,
    type_idents: Vec<String>,
}

/// A `Deserialize` item of `conformance/src`.
#[derive(Debug)]
pub enum Item {
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
pub fn deserialize_items(file: &Path, src: &str, out: &mut BTreeMap<String, Vec<Item>>) {
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

pub fn struct_fields(
    file: &Path,
    name: &str,
    body: &[Tok],
    rename_all: Option<&str>,
) -> Vec<Field> {
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
        if let Some(keys) = serde_names(&args, || serde_case(&field, rename_all, false)) {
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

/// The names serde reads a field or variant under (its `rename`, or
/// `default` derived from its identifier, and every `alias`); `None` when
/// it is skipped.
pub fn serde_names(args: &SerdeArgs, default: impl FnOnce() -> String) -> Option<Vec<String>> {
    if arg(args, "skip").is_some() || arg(args, "skip_deserializing").is_some() {
        return None;
    }
    let mut names = vec![match arg(args, "rename") {
        Some(Some(v)) => v.clone(),
        _ => default(),
    }];
    names.extend(
        args.iter()
            .filter(|(k, _)| k == "alias")
            .filter_map(|(_, v)| v.clone()),
    );
    Some(names)
}

pub fn enum_values(file: &Path, name: &str, body: &[Tok], rename_all: Option<&str>) -> Vec<String> {
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
        if let Some(names) = serde_names(&args, || serde_case(&variant, rename_all, true)) {
            values.extend(names);
        }
        k = j + 2;
    }
    values
}

/// What the profile loader reads: every key as a dotted path of tables
/// (`tokens.private_key`, `accounts.active.subject`), and for keys whose
/// value is one of a fixed set of words, those words.
#[derive(Debug, Default)]
pub struct ProfileKeys {
    /// Table path (empty: the top level) → its keys.
    pub tables: BTreeMap<Vec<String>, BTreeSet<String>>,
    /// (table path, key) → the words its value may be.
    pub values: BTreeMap<(Vec<String>, String), Vec<String>>,
}

pub fn all_deserialize_items() -> BTreeMap<String, Vec<Item>> {
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
pub fn resolve<'a>(
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

pub fn collect_keys(
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

pub fn profile_keys() -> ProfileKeys {
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
